package core

// Claim marks an iocb as in flight on one context. Engines embed a Claim in
// their per-request state; Owner identifies the engine context and Index the
// request's slot in it, so that Cancel finds the request without a map.
type Claim struct {
	Owner any
	Index int
}

// Take marks iocb as in flight under c. It fails when the iocb is already in
// flight anywhere: the same *Iocb may not be in flight twice.
func (i *Iocb) Take(c *Claim) bool { return casClaim(i, nil, c) }

// Release ends the claim c on iocb. It is a no-op if c no longer holds it.
func (i *Iocb) Release(c *Claim) { casClaim(i, c, nil) }

// Claimed returns the claim that holds iocb, or nil.
func (i *Iocb) Claimed() *Claim { return loadClaim(i) }

// ClaimedBy returns the claim that holds iocb if owner made it, else nil
// (for a nil iocb too): Cancel's first check, before any lock, of whether
// the iocb is in flight on this context. The claim may still be released
// before the caller locks; it checks again under its lock.
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
