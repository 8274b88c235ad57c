//go:build linux && !(armbe || arm64be || m68k || mips || mips64 || mips64p32 || ppc || ppc64 || s390 || s390x || shbe || sparc || sparc64)

package linuxaio

// keyRW is aio_key then aio_rw_flags, their order on a little-endian
// machine.
type keyRW struct {
	Key     uint32
	RWFlags int32 // RWF_*
}

// The offsets aio_abi.h gives aio_key and aio_rw_flags here.
const keyOffset, rwFlagsOffset = 8, 12
