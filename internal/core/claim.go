//go:build linux

package core

// Claim marks an iocb as in flight on one context. Engines embed a Claim in
// their per-request state; Owner identifies the engine context and Index the
// request's slot in it, so that Cancel finds the request without a map.
//
// An iocb points at the claim that holds it. A copy of an iocb made while
// it is in flight carries that pointer, but it is another iocb, free to
// submit (as in C), and so is an iocb that such a copy is written back
// into after the original completed: the claim is stale then. The request
// that a claim names knows which iocb it holds, under its context's lock,
// so Check asks the owner (ClaimOwner) to drop a claim it finds on an iocb
// before it is taken: one atomic load on the common path, where the iocb
// points at nothing.
type Claim struct {
	Owner any
	Index int
}

// ClaimOwner is an engine context, which made the claims it is the Owner
// of.
type ClaimOwner interface {
	// DropStaleClaim clears i's pointer to cl, under the owner's lock,
	// if the request cl names does not hold i.
	DropStaleClaim(cl *Claim, i *Iocb)
}

// Take marks iocb as in flight under c. It fails when the iocb is already in
// flight anywhere: the same *Iocb may not be in flight twice.
func (i *Iocb) Take(c *Claim) bool { return casClaim(i, nil, c) }

// Release ends the claim c on iocb. It is a no-op if c no longer holds it.
func (i *Iocb) Release(c *Claim) { casClaim(i, c, nil) }

// Claimed returns the claim iocb points at, or nil. Engines compare it
// with the claim of the request they found, under their lock.
func (i *Iocb) Claimed() *Claim { return loadClaim(i) }

// ClaimedBy returns the claim iocb points at if owner made it, else nil
// (for a nil iocb too): Cancel's first check, before any lock, of whether
// the iocb is in flight on this context. The claim may be stale, or be
// released before the caller locks: it checks again under its lock that
// the request holds this iocb.
func (i *Iocb) ClaimedBy(owner any) *Claim {
	if i == nil {
		return nil
	}
	cl := loadClaim(i)
	if cl == nil || cl.Owner != owner {
		return nil
	}
	return cl
}

// dropStale lets the owner of the claim i points at, if any, drop it if it
// is stale. Call it without any engine lock held. It inlines: on the
// common path, where i points at nothing, it is one load.
func (i *Iocb) dropStale() {
	if cl := loadClaim(i); cl != nil {
		dropStaleClaim(i, cl)
	}
}

// dropStaleClaim is dropStale's rare path, kept out of line so that
// dropStale stays small enough to inline.
//
//go:noinline
func dropStaleClaim(i *Iocb, cl *Claim) {
	if o, ok := cl.Owner.(ClaimOwner); ok {
		o.DropStaleClaim(cl, i)
	}
}
