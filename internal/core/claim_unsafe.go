//go:build linux

package core

import (
	"sync/atomic"
	"unsafe"
)

// The claim field is a plain pointer so that Iocb stays copyable without vet
// complaints (atomic.Pointer carries a noCopy); every access goes through
// these two functions.

func casClaim(i *Iocb, old, new *Claim) bool {
	return atomic.CompareAndSwapPointer((*unsafe.Pointer)(unsafe.Pointer(&i.claim)), unsafe.Pointer(old), unsafe.Pointer(new))
}

func loadClaim(i *Iocb) *Claim {
	return (*Claim)(atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(&i.claim))))
}

// IocbClaimOffset and IocbClaimSize are where Iocb's unexported claim
// field sits, for the test of kaio.Iocb's layout (which has the same
// field, and is handed to the engines as a *Iocb).
const (
	IocbClaimOffset = unsafe.Offsetof(Iocb{}.claim)
	IocbClaimSize   = unsafe.Sizeof(Iocb{}.claim)
)
