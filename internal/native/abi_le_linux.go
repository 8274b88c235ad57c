//go:build linux && !(mips || mips64 || ppc64 || s390x)

package native

// keyRWFlags is aio_key and aio_rw_flags in aio_abi.h's PADDED order for a
// little-endian machine: aio_key first.
type keyRWFlags struct {
	aioKey     uint32 // the kernel writes KIOCB_KEY (0) here at submit
	aioRWFlags int32  // RWF_*
}
