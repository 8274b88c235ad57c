//go:build linux

package kickrace

import (
	"github.com/kaio-go/kaio/internal/lock"
	"golang.org/x/sys/unix"
)

// BeforeProtocols are the kernel engines' bookkeeping as it was at 9fadd19,
// before internal/kctx, rendered over the model kernel as rc3.go renders
// Linux 2.6.13-rc3: the parts that decide who ends a request, and nothing
// else. Both lose requests:
//   - uring's Cancel sends one IORING_OP_ASYNC_CANCEL and turns -ENOENT
//     into EINVAL ("it completed already"); a poll between its wake-up and
//     its retry is not found, stays armed, and its event never comes.
//     Destroy sends one ASYNC_CANCEL per request in flight and then waits
//     for every CQE: when one of them misses, it waits forever.
//   - native's Submit takes a request under the context lock and
//     io_submits it after unlocking; its Cancel, coming in between, gets
//     EINVAL from io_cancel, ignores it (a completion already in the
//     ring, it assumed), marks the request cancelled and returns nil; the
//     poll is then submitted and its event never comes.
//
// Rendered faithfully: the two locks (smu serialises submissions and is
// taken by uring's Cancel and by Destroy; mu is the context lock), the
// counts (pending: CQEs the kernel owes, which Destroy waits to reach
// zero), one thread at a time asleep in the kernel and the others on
// their own notes, woken by whoever drains. Left out: fixed buffers, the
// eventfd reaper, and a stream's repoll, which is issued again inside the
// drain rather than by the next Submit.
var BeforeProtocols = []*KernelProtocol{
	{Name: "before/uring", Doc: "the uring engine's bookkeeping at 9fadd19, over a model io_uring", Fl: URingFlavour, New: newBeforeSys},
	{Name: "before/native", Doc: "the native engine's bookkeeping at 9fadd19, over a model Linux AIO", Fl: NativeFlavour, New: newBeforeSys},
}

type beforeReq struct {
	inFlight, inKernel, cancelled, sync, done bool
	res                                       int64
}

type beforeSys struct {
	m        *Model
	smu, mu  lock.Mutex
	reqs     []beforeReq
	pending  int // CQEs the kernel owes: requests and cancels in it
	events   int // posted, not reaped
	dead     bool
	kwBusy   bool         // a thread sleeps in the kernel
	sleepers []*lock.Note // the others
	answers  map[uint64]int
	nextTag  uint64
}

func newBeforeSys(m *Model) KernelSystem {
	s := &beforeSys{m: m, reqs: make([]beforeReq, len(m.S.Reqs)), answers: map[uint64]int{}, nextTag: 1000}
	s.smu.SetSched(m.X)
	s.mu.SetSched(m.X)
	m.X.Name(&s.smu, "smu")
	m.X.Name(&s.mu, "ctx_lock")
	return s
}

// reqTag is request i's user_data (or iocb address): its index, with no
// generation.
func reqTag(i int) uint64 { return uint64(i) + 1 }

func (s *beforeSys) uring() bool { return s.m.Fl.Later }

// takeLocked starts request i, or refuses it once the context is dead.
func (s *beforeSys) takeLocked(i int, sync bool) bool {
	if s.dead {
		s.m.Refused[i] = true
		return false
	}
	s.reqs[i] = beforeReq{inFlight: true, inKernel: true, sync: sync}
	s.pending++
	return true
}

// issue hands the requests to the kernel: io_uring_enter or io_submit,
// after the context lock is dropped.
func (s *beforeSys) issue(is []int) {
	s.m.Mu.Lock()
	for _, i := range is {
		s.m.HandedLocked(i, reqTag(i))
	}
	s.m.Mu.Unlock()
}

func (s *beforeSys) Submit(is []int) {
	s.smu.Lock()
	defer s.smu.Unlock()
	var batch []int
	for _, i := range is {
		s.mu.Lock()
		ok := s.takeLocked(i, false)
		s.mu.Unlock()
		if !ok {
			break
		}
		batch = append(batch, i)
	}
	s.issue(batch)
}

func (s *beforeSys) Do(i int) {
	s.smu.Lock()
	s.mu.Lock()
	ok := s.takeLocked(i, true)
	s.mu.Unlock()
	if ok {
		s.issue([]int{i})
	}
	s.smu.Unlock()
	if !ok {
		return
	}
	s.mu.Lock()
	s.waitLocked(func() bool { return s.reqs[i].done })
	s.mu.Unlock()
}

func (s *beforeSys) Cancel(i int) {
	if s.uring() {
		s.cancelURing(i)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &s.reqs[i]
	if s.dead || !r.inFlight {
		return // EINVAL
	}
	s.drainLocked()
	if !r.inFlight || s.m.S.Reqs[i] == IO || r.cancelled {
		return // EINVAL; EAGAIN for file I/O; nil
	}
	r.cancelled = true
	s.cancelKernelLocked(i)
}

// cancelKernelLocked is io_cancel; its answer is ignored (a kernel since
// 4.19 posts the cancelled request's event to the ring; EINVAL was taken
// to mean that its completion is in the ring already).
func (s *beforeSys) cancelKernelLocked(i int) {
	if !s.reqs[i].inKernel {
		return
	}
	s.m.Mu.Lock()
	s.m.CancelNowLocked(reqTag(i))
	s.m.Mu.Unlock()
}

func (s *beforeSys) cancelURing(i int) {
	s.smu.Lock()
	s.mu.Lock()
	if r := &s.reqs[i]; s.dead || !r.inFlight {
		s.mu.Unlock()
		s.smu.Unlock()
		return // EINVAL
	}
	tag := s.nextTag
	s.nextTag++
	s.pending++
	s.mu.Unlock()
	s.m.Mu.Lock()
	s.m.AskLaterLocked(tag, reqTag(i))
	s.m.Mu.Unlock()
	s.smu.Unlock()
	s.mu.Lock()
	s.waitLocked(func() bool { _, ok := s.answers[tag]; return ok })
	s.mu.Unlock()
	// Cancelled: nil; Busy (-EALREADY): EAGAIN; NotFound (-ENOENT):
	// EINVAL. Nothing is asked again.
}

func (s *beforeSys) Destroy() {
	s.smu.Lock()
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		s.smu.Unlock()
		return
	}
	s.dead = true
	s.wakeSleepersLocked()
	if s.uring() {
		var targets []int
		for i := range s.reqs {
			if s.reqs[i].inFlight {
				targets = append(targets, i)
			}
		}
		kw := s.kwBusy
		s.pending += len(targets)
		if kw {
			s.pending++
		}
		s.mu.Unlock()
		s.m.Mu.Lock()
		for _, i := range targets {
			s.m.AskLaterLocked(0, reqTag(i)) // an answer nobody reads
		}
		if kw { // a NOP, to end the kernel waiter's sleep
			s.m.postLocked(kcqe{cancel: true})
		}
		s.m.Mu.Unlock()
		s.smu.Unlock()
	} else {
		s.drainLocked()
		for i := range s.reqs {
			if r := &s.reqs[i]; r.inFlight && s.m.S.Reqs[i] != IO {
				r.cancelled = true
				s.cancelKernelLocked(i)
			}
		}
		s.mu.Unlock()
		s.smu.Unlock()
		s.m.Wake.Wakeup()
	}
	s.mu.Lock()
	s.waitLocked(func() bool { return s.pending == 0 })
	s.mu.Unlock()
	s.m.Mu.Lock()
	s.m.Closed = true
	s.m.Mu.Unlock()
}

func (s *beforeSys) Reap(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := 0
	for got < n {
		s.waitLocked(func() bool { return s.events > 0 || s.dead })
		if s.events == 0 {
			break // EINVAL: destroyed
		}
		k := min(s.events, n-got)
		s.events -= k
		got += k
	}
	return got
}

// waitLocked waits until ready holds: the first waiter sleeps in the
// kernel (io_uring_enter, ppoll on the eventfd), the others on notes of
// their own that whoever drains wakes. Hold mu.
func (s *beforeSys) waitLocked(ready func() bool) {
	for {
		s.drainLocked()
		if ready() {
			return
		}
		if !s.kwBusy {
			s.kwBusy = true
			s.mu.Unlock()
			s.m.Sleep()
			s.mu.Lock()
			s.kwBusy = false
			s.wakeSleepersLocked() // one of them sleeps in the kernel next
			continue
		}
		n := new(lock.Note)
		n.Init()
		n.SetSched(s.m.X)
		s.m.X.Name(n, "a waiter's note")
		s.sleepers = append(s.sleepers, n)
		s.mu.Unlock()
		n.Sleep()
		s.mu.Lock()
	}
}

func (s *beforeSys) wakeSleepersLocked() {
	for _, n := range s.sleepers {
		n.Wakeup()
	}
	s.sleepers = nil
}

// drainLocked handles what the kernel posted. Hold mu.
func (s *beforeSys) drainLocked() {
	s.m.Mu.Lock()
	cq := s.m.TakeLocked()
	s.m.Mu.Unlock()
	if len(cq) == 0 {
		return
	}
	for _, e := range cq {
		s.pending--
		if e.cancel {
			if e.tag != 0 {
				s.answers[e.tag] = e.answer
			}
			continue
		}
		i := int(e.tag - 1)
		r := &s.reqs[i]
		r.inKernel = false
		if e.res == -int64(unix.EAGAIN) && s.m.S.Reqs[i] == Stream && !s.dead && !r.cancelled {
			r.inKernel = true // poll again
			s.pending++
			s.m.Mu.Lock()
			s.m.HandedLocked(i, e.tag)
			s.m.Mu.Unlock()
			continue
		}
		r.inFlight = false
		s.m.Completed(i)
		if r.sync {
			r.done, r.res = true, e.res
		} else {
			s.events++
		}
	}
	s.wakeSleepersLocked()
}

func (s *beforeSys) Taken(i int) bool {
	return s.reqs[i].inFlight || s.m.Completions[i] > 0 || s.m.Refused[i]
}

// Final: the checks of every kernel protocol (an event per request, Destroy
// returned, every reaper woken) find what this bookkeeping loses.
func (s *beforeSys) Final() error { return nil }
