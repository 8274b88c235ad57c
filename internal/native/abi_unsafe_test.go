package native

import (
	"testing"
	"unsafe"
)

// TestABILayout checks the kernel structures against aio_abi.h and fs/aio.c.
func TestABILayout(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(struct iocb)", unsafe.Sizeof(kiocb{}), 64},
		{"aio_data", unsafe.Offsetof(kiocb{}.aioData), 0},
		{"aio_key", unsafe.Offsetof(kiocb{}.aioKey), 8},
		{"aio_rw_flags", unsafe.Offsetof(kiocb{}.aioRWFlags), 12},
		{"aio_lio_opcode", unsafe.Offsetof(kiocb{}.aioLioOpcode), 16},
		{"aio_reqprio", unsafe.Offsetof(kiocb{}.aioReqprio), 18},
		{"aio_fildes", unsafe.Offsetof(kiocb{}.aioFildes), 20},
		{"aio_buf", unsafe.Offsetof(kiocb{}.aioBuf), 24},
		{"aio_nbytes", unsafe.Offsetof(kiocb{}.aioNbytes), 32},
		{"aio_offset", unsafe.Offsetof(kiocb{}.aioOffset), 40},
		{"aio_reserved2", unsafe.Offsetof(kiocb{}.aioReserved2), 48},
		{"aio_flags", unsafe.Offsetof(kiocb{}.aioFlags), 56},
		{"aio_resfd", unsafe.Offsetof(kiocb{}.aioResfd), 60},
		{"sizeof(struct io_event)", unsafe.Sizeof(ioEvent{}), 32},
		{"io_event.obj", unsafe.Offsetof(ioEvent{}.obj), 8},
		{"io_event.res", unsafe.Offsetof(ioEvent{}.res), 16},
		{"io_event.res2", unsafe.Offsetof(ioEvent{}.res2), 24},
		{"sizeof(aio_ring header)", unsafe.Sizeof(ringHeader{}), 32},
		{"aio_ring.head", unsafe.Offsetof(ringHeader{}.head), 8},
		{"aio_ring.tail", unsafe.Offsetof(ringHeader{}.tail), 12},
		{"aio_ring.magic", unsafe.Offsetof(ringHeader{}.magic), 16},
		{"aio_ring.incompat_features", unsafe.Offsetof(ringHeader{}.incompatFeatures), 24},
		{"aio_ring.header_length", unsafe.Offsetof(ringHeader{}.headerLength), 28},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}
