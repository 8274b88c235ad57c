//go:build linux

package uring

import (
	"testing"
	"unsafe"

	"github.com/kaio-go/kaio/internal/enginetest"
)

// TestABILayout checks every structure shared with the kernel against the
// offsets and sizes of include/uapi/linux/io_uring.h.
func TestABILayout(t *testing.T) {
	enginetest.CheckLayout(t, []enginetest.Field{
		{Name: "sizeof(io_uring_sqe)", Got: unsafe.Sizeof(sqe{}), Want: 64},
		{Name: "sqe.opcode", Got: unsafe.Offsetof(sqe{}.opcode), Want: 0},
		{Name: "sqe.flags", Got: unsafe.Offsetof(sqe{}.flags), Want: 1},
		{Name: "sqe.ioprio", Got: unsafe.Offsetof(sqe{}.ioprio), Want: 2},
		{Name: "sqe.fd", Got: unsafe.Offsetof(sqe{}.fd), Want: 4},
		{Name: "sqe.off", Got: unsafe.Offsetof(sqe{}.off), Want: 8},
		{Name: "sqe.addr", Got: unsafe.Offsetof(sqe{}.addr), Want: 16},
		{Name: "sqe.len", Got: unsafe.Offsetof(sqe{}.len), Want: 24},
		{Name: "sqe.rw_flags", Got: unsafe.Offsetof(sqe{}.opFlags), Want: 28},
		{Name: "sqe.user_data", Got: unsafe.Offsetof(sqe{}.userData), Want: 32},
		{Name: "sqe.buf_index", Got: unsafe.Offsetof(sqe{}.bufIndex), Want: 40},
		{Name: "sqe.personality", Got: unsafe.Offsetof(sqe{}.personality), Want: 42},
		{Name: "sqe.splice_fd_in", Got: unsafe.Offsetof(sqe{}.spliceFdIn), Want: 44},
		{Name: "sqe.addr3", Got: unsafe.Offsetof(sqe{}.addr3), Want: 48},
		{Name: "sizeof(io_uring_cqe)", Got: unsafe.Sizeof(cqe{}), Want: 16},
		{Name: "cqe.user_data", Got: unsafe.Offsetof(cqe{}.userData), Want: 0},
		{Name: "cqe.res", Got: unsafe.Offsetof(cqe{}.res), Want: 8},
		{Name: "cqe.flags", Got: unsafe.Offsetof(cqe{}.flags), Want: 12},
		{Name: "sizeof(io_sqring_offsets)", Got: unsafe.Sizeof(sqringOffsets{}), Want: 40},
		{Name: "sq_off.array", Got: unsafe.Offsetof(sqringOffsets{}.array), Want: 24},
		{Name: "sq_off.user_addr", Got: unsafe.Offsetof(sqringOffsets{}.userAddr), Want: 32},
		{Name: "sizeof(io_cqring_offsets)", Got: unsafe.Sizeof(cqringOffsets{}), Want: 40},
		{Name: "cq_off.cqes", Got: unsafe.Offsetof(cqringOffsets{}.cqes), Want: 20},
		{Name: "cq_off.flags", Got: unsafe.Offsetof(cqringOffsets{}.flags), Want: 24},
		{Name: "sizeof(io_uring_params)", Got: unsafe.Sizeof(params{}), Want: 120},
		{Name: "params.features", Got: unsafe.Offsetof(params{}.features), Want: 20},
		{Name: "params.wq_fd", Got: unsafe.Offsetof(params{}.wqFd), Want: 24},
		{Name: "params.sq_off", Got: unsafe.Offsetof(params{}.sqOff), Want: 40},
		{Name: "params.cq_off", Got: unsafe.Offsetof(params{}.cqOff), Want: 80},
		{Name: "sizeof(io_uring_getevents_arg)", Got: unsafe.Sizeof(getEventsArg{}), Want: 24},
		{Name: "getevents_arg.sigmask_sz", Got: unsafe.Offsetof(getEventsArg{}.sigmaskSz), Want: 8},
		{Name: "getevents_arg.min_wait_usec", Got: unsafe.Offsetof(getEventsArg{}.minWaitUsec), Want: 12},
		{Name: "getevents_arg.ts", Got: unsafe.Offsetof(getEventsArg{}.ts), Want: 16},
		{Name: "sizeof(__kernel_timespec)", Got: unsafe.Sizeof(kernelTimespec{}), Want: 16},
		{Name: "__kernel_timespec.tv_nsec", Got: unsafe.Offsetof(kernelTimespec{}.nsec), Want: 8},
		{Name: "sizeof(io_uring_probe)", Got: unsafe.Sizeof(probeHdr{}), Want: 16},
		{Name: "sizeof(io_uring_probe_op)", Got: unsafe.Sizeof(probeOp{}), Want: 8},
		{Name: "probe_op.flags", Got: unsafe.Offsetof(probeOp{}.flags), Want: 2},
		{Name: "probe.ops", Got: unsafe.Offsetof(probeBuf{}.ops), Want: 16},
	})
}
