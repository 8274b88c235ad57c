package core

// Claim marks an iocb as in flight on one context. Engines embed a Claim in
// their per-request state; Owner identifies the engine context and Index the
// request's slot in it, so that Cancel finds the request without a map.
//
// An iocb points at the claim that holds it, and the claim points back at
// the iocb it holds: a copy of an iocb made while it is in flight carries
// the pointer but is not the iocb the claim holds, so it counts as free
// (the user's copy is another iocb, as in C).
type Claim struct {
	Owner any
	Index int

	// iocb is the iocb this claim holds, or nil. Read and written only
	// atomically (claim_unsafe.go): it is written before the claim is
	// published in the iocb, so that whoever sees the claim there sees it.
	iocb *Iocb
}

// Take marks iocb as in flight under c. It fails when the iocb is already in
// flight anywhere: the same *Iocb may not be in flight twice.
func (i *Iocb) Take(c *Claim) bool {
	storeHeld(c, i)
	for {
		old := loadClaim(i)
		// old == c: a stale pointer to the very claim taking it now
		// (the iocb was copied from one this request held before).
		if old != nil && old != c && loadHeld(old) == i {
			storeHeld(c, nil)
			return false
		}
		if casClaim(i, old, c) { // old is nil, or a stale claim copied in with the iocb
			return true
		}
	}
}

// Release ends the claim c on iocb. It is a no-op if c no longer holds it.
func (i *Iocb) Release(c *Claim) {
	if casClaim(i, c, nil) {
		storeHeld(c, nil)
	}
}

// Claimed returns the claim that holds iocb, or nil.
func (i *Iocb) Claimed() *Claim {
	cl := loadClaim(i)
	if cl == nil || loadHeld(cl) != i {
		return nil
	}
	return cl
}

// ClaimedBy returns the claim that holds iocb if owner made it, else nil
// (for a nil iocb too): Cancel's first check, before any lock, of whether
// the iocb is in flight on this context. The claim may still be released
// before the caller locks; it checks again under its lock.
func (i *Iocb) ClaimedBy(owner any) *Claim {
	if i == nil {
		return nil
	}
	cl := i.Claimed()
	if cl == nil || cl.Owner != owner {
		return nil
	}
	return cl
}
