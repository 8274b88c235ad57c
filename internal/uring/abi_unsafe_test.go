package uring

import (
	"testing"
	"unsafe"
)

// TestABILayout checks every structure shared with the kernel against the
// offsets and sizes of include/uapi/linux/io_uring.h.
func TestABILayout(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(io_uring_sqe)", unsafe.Sizeof(sqe{}), 64},
		{"sqe.opcode", unsafe.Offsetof(sqe{}.opcode), 0},
		{"sqe.flags", unsafe.Offsetof(sqe{}.flags), 1},
		{"sqe.ioprio", unsafe.Offsetof(sqe{}.ioprio), 2},
		{"sqe.fd", unsafe.Offsetof(sqe{}.fd), 4},
		{"sqe.off", unsafe.Offsetof(sqe{}.off), 8},
		{"sqe.addr", unsafe.Offsetof(sqe{}.addr), 16},
		{"sqe.len", unsafe.Offsetof(sqe{}.len), 24},
		{"sqe.rw_flags", unsafe.Offsetof(sqe{}.opFlags), 28},
		{"sqe.user_data", unsafe.Offsetof(sqe{}.userData), 32},
		{"sqe.buf_index", unsafe.Offsetof(sqe{}.bufIndex), 40},
		{"sqe.personality", unsafe.Offsetof(sqe{}.personality), 42},
		{"sqe.splice_fd_in", unsafe.Offsetof(sqe{}.spliceFdIn), 44},
		{"sqe.addr3", unsafe.Offsetof(sqe{}.addr3), 48},
		{"sizeof(io_uring_cqe)", unsafe.Sizeof(cqe{}), 16},
		{"cqe.user_data", unsafe.Offsetof(cqe{}.userData), 0},
		{"cqe.res", unsafe.Offsetof(cqe{}.res), 8},
		{"cqe.flags", unsafe.Offsetof(cqe{}.flags), 12},
		{"sizeof(io_sqring_offsets)", unsafe.Sizeof(sqringOffsets{}), 40},
		{"sq_off.array", unsafe.Offsetof(sqringOffsets{}.array), 24},
		{"sq_off.user_addr", unsafe.Offsetof(sqringOffsets{}.userAddr), 32},
		{"sizeof(io_cqring_offsets)", unsafe.Sizeof(cqringOffsets{}), 40},
		{"cq_off.cqes", unsafe.Offsetof(cqringOffsets{}.cqes), 20},
		{"cq_off.flags", unsafe.Offsetof(cqringOffsets{}.flags), 24},
		{"sizeof(io_uring_params)", unsafe.Sizeof(params{}), 120},
		{"params.features", unsafe.Offsetof(params{}.features), 20},
		{"params.wq_fd", unsafe.Offsetof(params{}.wqFd), 24},
		{"params.sq_off", unsafe.Offsetof(params{}.sqOff), 40},
		{"params.cq_off", unsafe.Offsetof(params{}.cqOff), 80},
		{"sizeof(io_uring_getevents_arg)", unsafe.Sizeof(getEventsArg{}), 24},
		{"getevents_arg.sigmask_sz", unsafe.Offsetof(getEventsArg{}.sigmaskSz), 8},
		{"getevents_arg.min_wait_usec", unsafe.Offsetof(getEventsArg{}.minWaitUsec), 12},
		{"getevents_arg.ts", unsafe.Offsetof(getEventsArg{}.ts), 16},
		{"sizeof(io_uring_probe)", unsafe.Sizeof(probeHdr{}), 16},
		{"sizeof(io_uring_probe_op)", unsafe.Sizeof(probeOp{}), 8},
		{"probe_op.flags", unsafe.Offsetof(probeOp{}.flags), 2},
		{"probe.ops", unsafe.Offsetof(probeBuf{}.ops), 16},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}
