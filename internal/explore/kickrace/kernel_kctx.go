//go:build linux

package kickrace

import (
	"context"
	"fmt"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/explore"
	"github.com/kaio-go/kaio/internal/kctx"
	"golang.org/x/sys/unix"
)

// KctxProtocols are kaio's bookkeeping of the kernel engines,
// internal/kctx itself, over the model kernel in each flavour.
var KctxProtocols = []*KernelProtocol{
	{Name: "kctx/uring", Doc: "internal/kctx, the uring and native engines' bookkeeping, over a model io_uring", Fl: URingFlavour, New: newKctxSys},
	{Name: "kctx/native", Doc: "internal/kctx over a model Linux AIO", Fl: NativeFlavour, New: newKctxSys},
}

// KctxEndsOnCancelled is internal/kctx under an engine binding that ends a
// request when the kernel answers its cancel with success, as kernels
// before 4.19 wanted of io_cancel's callers; a newer kernel posts the
// cancelled request's completion too, so the request ends twice. It is a
// broken variant for the sabotage tests.
func KctxEndsOnCancelled(fl Flavour) *KernelProtocol {
	return &KernelProtocol{Name: "kctx/" + fl.Name + " ending on Cancelled", Fl: fl, New: func(m *Model) KernelSystem {
		s := newKctxSys(m).(*kctxSys)
		s.endOnCancelled = true
		return s
	}}
}

// mreq is the model kernel's part of a kctx request.
type mreq struct{ id int }

// kctxSys is internal/kctx with the model kernel as its kctx.Kernel: every
// method the bookkeeping calls is the model's, every lock and wait of the
// bookkeeping is the explorer's.
type kctxSys struct {
	m     *Model
	c     *kctx.Ctx[mreq]
	iocbs []*core.Iocb
	// endOnCancelled: KctxEndsOnCancelled.
	endOnCancelled bool
}

func newKctxSys(m *Model) KernelSystem {
	s := &kctxSys{m: m, c: new(kctx.Ctx[mreq])}
	s.c.Go = func(func()) { panic("kickrace: the model has no eventfds and no blocking transfers") }
	s.c.Pause = func(time.Duration) { m.X.Backoff("pause before asking again") }
	s.c.SetSched(m.X)
	m.X.Name(&s.c.Mu, "ctx_lock")
	s.c.Init(s, len(m.S.Reqs), nil)
	for i := range m.S.Reqs {
		s.iocbs = append(s.iocbs, &core.Iocb{Op: core.OpNoop, Data: uint64(i)})
	}
	return s
}

// The kctx.Kernel half, played by the model.

func (s *kctxSys) Prep(r *kctx.Req[mreq], seekable bool) (bool, int64) {
	r.P.id = int(r.Iocb.Data)
	r.Stream = s.m.S.Reqs[r.P.id] == Stream
	return false, 0
}

func (s *kctxSys) PrepNext(r *kctx.Req[mreq]) {}

func (s *kctxSys) Issue(rs []*kctx.Req[mreq]) (int, unix.Errno) {
	s.m.Mu.Lock()
	for _, r := range rs {
		s.m.HandedLocked(r.P.id, r.Tag)
	}
	s.m.Mu.Unlock()
	return len(rs), 0
}

func (s *kctxSys) AskCancel(op *kctx.CancelOp[mreq]) kctx.Answer {
	s.m.Mu.Lock()
	defer s.m.Mu.Unlock()
	if s.m.Fl.Later {
		s.m.AskLaterLocked(op.Tag, op.TargetTag)
		return kctx.Later
	}
	a := kctx.Answer(s.m.CancelNowLocked(op.TargetTag))
	if a == kctx.Cancelled && s.endOnCancelled {
		s.c.CompletedLocked(op.Target(), -int64(unix.ECANCELED)) // SyncCancel: asked under Mu
	}
	return a
}

func (s *kctxSys) SyncCancel() bool { return !s.m.Fl.Later }

func (s *kctxSys) DrainLocked() {
	s.m.Mu.Lock()
	cq := s.m.TakeLocked()
	s.m.Mu.Unlock()
	for _, e := range cq {
		if e.cancel {
			op := s.c.OpByTag(e.tag)
			if kctx.Answer(e.answer) == kctx.Cancelled && s.endOnCancelled {
				s.c.CompletedLocked(s.c.ByTag(op.TargetTag), -int64(unix.ECANCELED))
			}
			s.c.AnsweredLocked(op, kctx.Answer(e.answer))
		} else {
			s.c.CompletedLocked(s.c.ByTag(e.tag), e.res)
		}
	}
}

func (s *kctxSys) DrainOnlyByKW() bool { return s.m.Fl.Later }

func (s *kctxSys) SleepInKernel(time.Time) bool {
	s.m.Sleep()
	return false
}

func (s *kctxSys) WakeKernel() { s.m.Wake.Wakeup() }

func (s *kctxSys) Continue(r *kctx.Req[mreq], res int64, blocked bool) (kctx.Step, int64) {
	if res == -int64(unix.EAGAIN) {
		return kctx.Again, 0
	}
	return kctx.Finish, res
}

func (s *kctxSys) Block(r *kctx.Req[mreq]) int64 { return -int64(unix.EINVAL) }

func (s *kctxSys) Release(r *kctx.Req[mreq]) { s.m.Completed(r.P.id) }

func (s *kctxSys) Close() {
	s.m.Mu.Lock()
	s.m.Closed = true
	s.m.Mu.Unlock()
}

// The KernelSystem half: what the scenario's threads call.

func (s *kctxSys) Submit(is []int) {
	var iocbs []*core.Iocb
	for _, i := range is {
		iocbs = append(iocbs, s.iocbs[i])
	}
	n, err := s.c.Submit(iocbs)
	for _, i := range is[n:] {
		if err != unix.EINVAL {
			s.m.X.Failf("submit", "Submit took %d of %d: %v", n, len(iocbs), err)
		}
		s.m.Refused[i] = true // Destroy came first
	}
}

func (s *kctxSys) Do(i int) {
	if ev := s.c.Do(s.iocbs[i]); ev.Res == -int64(unix.EINVAL) && s.m.Completions[i] == 0 {
		s.m.Refused[i] = true
	}
}

func (s *kctxSys) Cancel(i int) { s.c.Cancel(s.iocbs[i]) }

func (s *kctxSys) Destroy() { s.c.Destroy() }

func (s *kctxSys) Reap(n int) int {
	evs := make([]core.Event, n)
	got := 0
	for got < n {
		k, err := s.c.GetEvents(context.Background(), n-got, evs[got:], -1)
		got += k
		if err != nil {
			break
		}
	}
	return got
}

func (s *kctxSys) Taken(i int) bool {
	return s.iocbs[i].Claimed() != nil || s.m.Completions[i] > 0 || s.m.Refused[i]
}

// Final checks that no request is left in flight or in the kernel, and
// that no ring slot is held without an event.
func (s *kctxSys) Final() error {
	k := s.c.CountersStopped()
	// What the kernel still owes or has posted and nobody has drained yet
	// (a cancel's answer when no thread enters the context again) is
	// pending, and the next call drains it.
	owed := len(s.m.cq) + len(s.m.cancels)
	if k.InFlight != 0 || k.Pending != owed || k.Reserved != k.Unreaped {
		return &explore.Failure{Kind: "slot-leak", Msg: fmt.Sprintf("the bookkeeping at the end: %+v", k)}
	}
	return nil
}
