package kickrace

import (
	"github.com/kaio-go/kaio/internal/kick"
	"github.com/kaio-go/kaio/internal/lock"
	"github.com/kaio-go/kaio/internal/waitq"
)

// KaioHooks replace parts of kaio's protocol, for tests that break it on
// purpose and check that the explorer notices. Nil fields mean the real
// code.
type KaioHooks struct {
	// Wake replaces kick.Ctx.Wake in the wait entry's callback.
	Wake func(c *kick.Ctx, q *waitq.Queue, r *kick.Req) kick.Action
	// Run replaces kick.Ctx.Run.
	Run func(c *kick.Ctx, r *kick.Req, ops kick.Ops) kick.Action
	// RunFirst replaces kick.Ctx.RunFirst.
	RunFirst func(c *kick.Ctx, r *kick.Req, ops kick.Ops) (int64, bool, kick.Action)
}

// Kaio is kaio's protocol: internal/kick as the retry engine runs it.
var Kaio = KaioWith("kaio", KaioHooks{})

// KaioWith is kaio's protocol with some of its parts replaced.
func KaioWith(name string, h KaioHooks) *Protocol {
	if h.Wake == nil {
		h.Wake = (*kick.Ctx).Wake
	}
	if h.Run == nil {
		h.Run = (*kick.Ctx).Run
	}
	if h.RunFirst == nil {
		h.RunFirst = (*kick.Ctx).RunFirst
	}
	return &Protocol{
		Name:     name,
		Doc:      "kaio's kick protocol (internal/kick), the code the retry engine runs",
		SelfKick: true,
		New: func(w *World) System {
			s := &kaioSys{w: w, h: h}
			s.c.Mu.SetSched(w.X)
			w.X.Name(&s.c.Mu, "ctx_lock")
			s.idle.Init()
			s.idle.SetSched(w.X)
			w.X.Name(&s.idle, "destroy")
			for i, r := range w.Reqs {
				kr := &kaioReq{s: s, i: i}
				kr.k.Owner = kr
				kr.k.Wait.W = kr
				kr.k.Sync = r.Sync
				kr.k.Note.Init()
				kr.k.Note.SetSched(w.X)
				s.c.ResetLocked(&kr.k) // as prepare does; no thread runs yet
				s.reqs = append(s.reqs, kr)
				s.inflight++
			}
			return s
		},
	}
}

// kaioSys mirrors what internal/retry does around internal/kick: Submit,
// the kick worker, the wait entry's wake callback, Cancel, Destroy and Do
// call kick exactly as retry's Context does.
type kaioSys struct {
	w    *World
	h    KaioHooks
	c    kick.Ctx
	reqs []*kaioReq
	// guarded by c.Mu, as retry's Context fields:
	dead     bool
	inflight int
	idle     lock.Note // retry's idle channel: destroy waits for it
}

type kaioReq struct {
	s *kaioSys
	i int
	k kick.Req
}

// Wake is the wait entry's callback, as retry's request.Wake.
func (r *kaioReq) Wake(q *waitq.Queue, e *waitq.Entry, mask uint32) {
	s, note := r.s, &r.k.Note
	kick.Finish(s.h.Wake(&s.c, q, &r.k), note, s)
}

// Retry implements kick.Ops.
func (s *kaioSys) Retry(kr *kick.Req) (int64, bool) {
	r := kr.Owner.(*kaioReq)
	return s.w.Retry(r.i,
		func(q *waitq.Queue) bool { return s.c.LinkWait(kr, q, 0) },
		func(q *waitq.Queue) { s.c.Unlink(kr) })
}

// Complete implements kick.Ops, as retry's Complete and completeBatch:
// finishLocked under ctx_lock, then wake-ups after unlocking.
func (s *kaioSys) Complete(kr *kick.Req, res int64) {
	s.c.Mu.Lock()
	idle := s.finishLocked(kr, res)
	s.c.Mu.Unlock()
	if idle {
		s.idle.Wakeup()
	}
}

// finishLocked is retry's finishLocked: it reports whether destroy waits
// for this completion.
func (s *kaioSys) finishLocked(kr *kick.Req, res int64) bool {
	r := kr.Owner.(*kaioReq)
	s.c.DoneLocked(kr)
	s.w.Complete(r.i, res, s.c.KicksLocked())
	s.inflight--
	return s.dead && s.inflight == 0
}

// Signal implements kick.Ops.
func (s *kaioSys) Signal() { s.w.Worker.Wakeup() }

// Submit is retry's Submit for one iocb: the first iteration with
// RunFirst, its action, then the completion (completeBatch) if it finished.
func (s *kaioSys) Submit(i int) {
	r := s.reqs[i]
	res, fin, a := s.h.RunFirst(&s.c, &r.k, s)
	kick.Finish(a, &r.k.Note, s)
	if fin {
		s.Complete(&r.k, res)
	}
}

func (s *kaioSys) WorkOnce() bool {
	kr := s.c.Pop()
	if kr == nil {
		return false
	}
	r := kr.Owner.(*kaioReq)
	kick.Finish(s.h.Run(&s.c, kr, s), &r.k.Note, s)
	return true
}

// Do is retry's Do loop.
func (s *kaioSys) Do(i int) {
	r := s.reqs[i]
	for {
		a := s.h.Run(&s.c, &r.k, s)
		if a == kick.None && s.w.Reqs[i].Completions > 0 {
			break
		}
		if a != kick.WakeSync {
			r.k.Note.Sleep()
		}
	}
	s.w.Reqs[i].Freed = true // Do returned: the request goes back to the free list
}

// Cancel is retry's Cancel.
func (s *kaioSys) Cancel(i int) {
	r := s.reqs[i]
	s.c.Mu.Lock()
	if s.dead || s.w.Reqs[i].Completions > 0 {
		s.c.Mu.Unlock()
		return // EINVAL: not in flight
	}
	res := s.c.CancelLocked(&r.k)
	gen := r.k.GenLocked()
	s.c.Mu.Unlock()
	if res != kick.CancelStarted {
		return
	}
	kick.Finish(s.c.UnlinkAndKick(&r.k, gen), &r.k.Note, s)
}

// Destroy is retry's Destroy.
func (s *kaioSys) Destroy() {
	s.c.Mu.Lock()
	s.dead = true
	var todo []*kaioReq
	var gens []uint64
	for i, r := range s.reqs {
		if s.w.Reqs[i].Completions == 0 && s.c.ForceCancelLocked(&r.k) {
			todo = append(todo, r)
			gens = append(gens, r.k.GenLocked())
		}
	}
	s.c.Mu.Unlock()
	for j, r := range todo {
		kick.Finish(s.c.UnlinkAndKick(&r.k, gens[j]), &r.k.Note, s)
	}
	s.c.Mu.Lock()
	n := s.inflight
	s.c.Mu.Unlock()
	if n > 0 {
		s.idle.Sleep()
	}
}

func (s *kaioSys) State(i int) State {
	st := s.reqs[i].k.SnapshotLocked()
	return State{Linked: st.Linked, Queued: st.Queued, Kicks: s.c.KicksLocked()}
}

func (s *kaioSys) RunList() []int {
	var out []int
	for _, kr := range s.c.RunListLocked(nil, 16) {
		out = append(out, kr.Owner.(*kaioReq).i)
	}
	return out
}

// Offload is retry's offloadWorker loop body.
func (s *kaioSys) Offload(q *waitq.Queue) {
	q.Mu.Lock()
	e := q.FirstLocked()
	if e == nil {
		q.Mu.Unlock()
		return
	}
	r := e.W.(*kaioReq)
	s.c.TakeOffloadLocked(q, &r.k)
	q.Mu.Unlock()
	s.w.X.Yield("the blocking syscall")
	note := &r.k.Note
	kick.Finish(s.c.Kick(&r.k), note, s)
}

func (s *kaioSys) Note(i int) *lock.Note {
	if !s.w.Reqs[i].Sync {
		return nil
	}
	return &s.reqs[i].k.Note
}
