package native

// The Linux AIO ABI of include/uapi/linux/aio_abi.h and fs/aio.c, written
// once with the kernel's field names; x/sys/unix has the syscall numbers but
// not these layouts. abi_unsafe_test.go checks the offsets.

// kiocb is struct iocb (64 bytes).
type kiocb struct {
	aioData uint64
	keyRWFlags
	aioLioOpcode uint16
	aioReqprio   int16
	aioFildes    uint32
	aioBuf       uint64
	aioNbytes    uint64
	aioOffset    int64
	aioReserved2 uint64
	aioFlags     uint32
	aioResfd     uint32
}

// ioEvent is struct io_event.
type ioEvent struct {
	data uint64
	obj  uint64
	res  int64
	res2 int64
}

// ringHeader is the head of struct aio_ring, the completion ring fs/aio.c
// maps into the process at the address io_setup returns; io_events follow
// it at headerLength.
type ringHeader struct {
	id               uint32
	nr               uint32 // number of io_events
	head             uint32 // next to reap; user space may advance it
	tail             uint32 // next the kernel writes
	magic            uint32
	compatFeatures   uint32
	incompatFeatures uint32
	headerLength     uint32
}

const (
	cmdPRead   = 0
	cmdPWrite  = 1
	cmdFSync   = 2
	cmdFDSync  = 3
	cmdPoll    = 5
	cmdPReadv  = 7
	cmdPWritev = 8

	iocbFlagResFd = 1

	// ringMagic marks an aio_ring whose layout user space may read.
	ringMagic = 0xa10a10a1
)
