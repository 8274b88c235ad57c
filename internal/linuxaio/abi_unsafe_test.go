//go:build linux

package linuxaio

import (
	"testing"
	"unsafe"

	"github.com/kaio-go/kaio/internal/enginetest"
)

// TestABILayout checks the kernel structures against aio_abi.h and fs/aio.c.
func TestABILayout(t *testing.T) {
	enginetest.CheckLayout(t, []enginetest.Field{
		{Name: "sizeof(struct iocb)", Got: unsafe.Sizeof(Iocb{}), Want: 64},
		{Name: "aio_data", Got: unsafe.Offsetof(Iocb{}.Data), Want: 0},
		{Name: "aio_key", Got: unsafe.Offsetof(Iocb{}.Key), Want: keyOffset},
		{Name: "aio_rw_flags", Got: unsafe.Offsetof(Iocb{}.RWFlags), Want: rwFlagsOffset},
		{Name: "aio_lio_opcode", Got: unsafe.Offsetof(Iocb{}.LioOpcode), Want: 16},
		{Name: "aio_reqprio", Got: unsafe.Offsetof(Iocb{}.Reqprio), Want: 18},
		{Name: "aio_fildes", Got: unsafe.Offsetof(Iocb{}.Fildes), Want: 20},
		{Name: "aio_buf", Got: unsafe.Offsetof(Iocb{}.Buf), Want: 24},
		{Name: "aio_nbytes", Got: unsafe.Offsetof(Iocb{}.Nbytes), Want: 32},
		{Name: "aio_offset", Got: unsafe.Offsetof(Iocb{}.Offset), Want: 40},
		{Name: "aio_reserved2", Got: unsafe.Offsetof(Iocb{}.Reserved2), Want: 48},
		{Name: "aio_flags", Got: unsafe.Offsetof(Iocb{}.Flags), Want: 56},
		{Name: "aio_resfd", Got: unsafe.Offsetof(Iocb{}.Resfd), Want: 60},
		{Name: "sizeof(struct io_event)", Got: unsafe.Sizeof(Event{}), Want: 32},
		{Name: "io_event.obj", Got: unsafe.Offsetof(Event{}.Obj), Want: 8},
		{Name: "io_event.res", Got: unsafe.Offsetof(Event{}.Res), Want: 16},
		{Name: "io_event.res2", Got: unsafe.Offsetof(Event{}.Res2), Want: 24},
		{Name: "sizeof(aio_ring header)", Got: unsafe.Sizeof(RingHeader{}), Want: 32},
		{Name: "aio_ring.head", Got: unsafe.Offsetof(RingHeader{}.Head), Want: 8},
		{Name: "aio_ring.tail", Got: unsafe.Offsetof(RingHeader{}.Tail), Want: 12},
		{Name: "aio_ring.magic", Got: unsafe.Offsetof(RingHeader{}.Magic), Want: 16},
		{Name: "aio_ring.incompat_features", Got: unsafe.Offsetof(RingHeader{}.IncompatFeatures), Want: 24},
		{Name: "aio_ring.header_length", Got: unsafe.Offsetof(RingHeader{}.HeaderLength), Want: 28},
	})
}
