//go:build linux

package native

import (
	"testing"
	"unsafe"

	"github.com/kaio-go/kaio/internal/enginetest"
)

// TestABILayout checks the kernel structures against aio_abi.h and fs/aio.c.
func TestABILayout(t *testing.T) {
	// aio_abi.h's PADDED(aio_key, aio_rw_flags) swaps them on big-endian
	// machines; the byte order is read here, not from the build tags that
	// choose the layout.
	keyAt, flagsAt := uintptr(8), uintptr(12)
	if one := uint16(1); *(*byte)(unsafe.Pointer(&one)) == 0 {
		keyAt, flagsAt = 12, 8
	}
	enginetest.CheckLayout(t, []enginetest.Field{
		{Name: "sizeof(struct iocb)", Got: unsafe.Sizeof(kiocb{}), Want: 64},
		{Name: "aio_data", Got: unsafe.Offsetof(kiocb{}.aioData), Want: 0},
		{Name: "aio_key", Got: unsafe.Offsetof(kiocb{}.aioKey), Want: keyAt},
		{Name: "aio_rw_flags", Got: unsafe.Offsetof(kiocb{}.aioRWFlags), Want: flagsAt},
		{Name: "aio_lio_opcode", Got: unsafe.Offsetof(kiocb{}.aioLioOpcode), Want: 16},
		{Name: "aio_reqprio", Got: unsafe.Offsetof(kiocb{}.aioReqprio), Want: 18},
		{Name: "aio_fildes", Got: unsafe.Offsetof(kiocb{}.aioFildes), Want: 20},
		{Name: "aio_buf", Got: unsafe.Offsetof(kiocb{}.aioBuf), Want: 24},
		{Name: "aio_nbytes", Got: unsafe.Offsetof(kiocb{}.aioNbytes), Want: 32},
		{Name: "aio_offset", Got: unsafe.Offsetof(kiocb{}.aioOffset), Want: 40},
		{Name: "aio_reserved2", Got: unsafe.Offsetof(kiocb{}.aioReserved2), Want: 48},
		{Name: "aio_flags", Got: unsafe.Offsetof(kiocb{}.aioFlags), Want: 56},
		{Name: "aio_resfd", Got: unsafe.Offsetof(kiocb{}.aioResfd), Want: 60},
		{Name: "sizeof(struct io_event)", Got: unsafe.Sizeof(ioEvent{}), Want: 32},
		{Name: "io_event.obj", Got: unsafe.Offsetof(ioEvent{}.obj), Want: 8},
		{Name: "io_event.res", Got: unsafe.Offsetof(ioEvent{}.res), Want: 16},
		{Name: "io_event.res2", Got: unsafe.Offsetof(ioEvent{}.res2), Want: 24},
		{Name: "sizeof(aio_ring header)", Got: unsafe.Sizeof(ringHeader{}), Want: 32},
		{Name: "aio_ring.head", Got: unsafe.Offsetof(ringHeader{}.head), Want: 8},
		{Name: "aio_ring.tail", Got: unsafe.Offsetof(ringHeader{}.tail), Want: 12},
		{Name: "aio_ring.magic", Got: unsafe.Offsetof(ringHeader{}.magic), Want: 16},
		{Name: "aio_ring.incompat_features", Got: unsafe.Offsetof(ringHeader{}.incompatFeatures), Want: 24},
		{Name: "aio_ring.header_length", Got: unsafe.Offsetof(ringHeader{}.headerLength), Want: 28},
	})
}
