package core

import (
	"sync/atomic"
	"unsafe"
)

// The claim fields are plain pointers so that Iocb and Claim stay copyable
// without vet complaints (atomic.Pointer carries a noCopy); every access
// goes through these functions.

func casClaim(i *Iocb, old, new *Claim) bool {
	return atomic.CompareAndSwapPointer((*unsafe.Pointer)(unsafe.Pointer(&i.claim)), unsafe.Pointer(old), unsafe.Pointer(new))
}

func loadClaim(i *Iocb) *Claim {
	return (*Claim)(atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(&i.claim))))
}

func storeHeld(c *Claim, i *Iocb) {
	atomic.StorePointer((*unsafe.Pointer)(unsafe.Pointer(&c.iocb)), unsafe.Pointer(i))
}

func loadHeld(c *Claim) *Iocb {
	return (*Iocb)(atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(&c.iocb))))
}
