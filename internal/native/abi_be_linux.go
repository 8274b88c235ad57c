//go:build linux && (mips || mips64 || ppc64 || s390x)

package native

// keyRWFlags is aio_key and aio_rw_flags in aio_abi.h's PADDED order for a
// big-endian machine: aio_rw_flags first. In the little-endian order the
// kernel would read RWF_* flags from aio_key, which it overwrites with
// KIOCB_KEY, and drop them: RWF_NOWAIT and RWF_DSYNC ignored, silently.
type keyRWFlags struct {
	aioRWFlags int32  // RWF_*
	aioKey     uint32 // the kernel writes KIOCB_KEY (0) here at submit
}
