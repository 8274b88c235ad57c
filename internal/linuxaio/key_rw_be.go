//go:build linux && (armbe || arm64be || m68k || mips || mips64 || mips64p32 || ppc || ppc64 || s390 || s390x || shbe || sparc || sparc64)

package linuxaio

// keyRW is aio_rw_flags then aio_key, their order on a big-endian machine
// (aio_abi.h's PADDED: the 32-bit key sits in the low half of a 64-bit
// word).
type keyRW struct {
	RWFlags int32 // RWF_*
	Key     uint32
}

// The offsets aio_abi.h gives aio_key and aio_rw_flags here.
const keyOffset, rwFlagsOffset = 12, 8
