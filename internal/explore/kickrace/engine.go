//go:build linux

package kickrace

import (
	"context"
	"fmt"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/explore"
	"github.com/kaio-go/kaio/internal/lock"
	"github.com/kaio-go/kaio/internal/retry"
	"github.com/kaio-go/kaio/internal/waitq"
	"golang.org/x/sys/unix"
)

// Kaio is kaio's protocol: the retry engine itself (internal/retry over
// internal/kick), run by the explorer. Every thread runs the engine's own
// functions: Submit's first iterations and batched completions
// (SubmitScripted), the kick worker's and offload workers' loops, the
// poller's wake path with its batch hook (PollWake), Cancel, Destroy, Do and
// GetEvents; every lock and hand-off in them is a scheduling point. Only
// the I/O is the scenario's: the retry method follows the request's script
// with the engine's own primitives (a wait entry linked on a queue, a
// hand-off to the offload workers), and an offload worker's syscall
// returns at once.
var Kaio = KaioWith("kaio", retry.Explorer{})

// KaioWith is kaio's protocol with parts broken on purpose (x.Broken,
// x.Sabotage), for the sabotage tests.
func KaioWith(name string, x retry.Explorer) *Protocol {
	return &Protocol{
		Name:     name,
		Doc:      "kaio's retry engine (internal/retry over internal/kick): its own loops, wake path, Cancel and Destroy",
		SelfKick: true,
		Engine:   true,
		New: func(w *World) System {
			s := &engineSys{w: w, reqs: make([]*retry.Request, len(w.Reqs))}
			x := x // each schedule its own
			x.Sched = w.X
			x.Yield = w.X.Yield
			x.Retry = s.retry
			x.Blocking = s.blocking
			x.Completed = s.completed
			x.Workers = 0
			x.BatchWrites = w.BatchWrites
			x.DeferWrites = w.DeferWrites
			if !w.DeferWrites {
				for _, off := range w.Offload {
					if off {
						x.Workers++
					}
				}
			}
			s.c = retry.NewExplored(len(w.Reqs), &x)
			for obj, name := range s.c.Names() {
				w.X.Name(obj, name)
			}
			for i, r := range w.Reqs {
				s.iocbs = append(s.iocbs, &core.Iocb{Op: core.OpPRead, Fd: -1, Data: uint64(i)})
				if r.Sync {
					s.sync++
				}
			}
			return s
		},
	}
}

// engineSys runs the retry engine for one schedule.
type engineSys struct {
	w     *World
	c     *retry.Context
	iocbs []*core.Iocb
	// reqs maps the scenario's requests to the engine's, as they are
	// first seen (in their first iteration).
	reqs []*retry.Request
	sync int // sync requests
}

// retry is the scripted retry method, with the engine's primitives.
func (s *engineSys) retry(r *retry.Request) (int64, bool) {
	i := r.ID()
	s.reqs[i] = r
	return s.w.Retry(i,
		func(q *waitq.Queue) bool {
			if s.w.Offload[s.queueIndex(q)] {
				_, wait := s.c.Offload(r)
				return wait
			}
			return s.c.Wait(r, q)
		},
		func(q *waitq.Queue) { s.c.Unwait(r) })
}

func (s *engineSys) queueIndex(q *waitq.Queue) int {
	for j, wq := range s.w.Queues {
		if wq == q {
			return j
		}
	}
	panic("kickrace: a queue of no scenario")
}

// blocking is an offload worker's syscall: the blocking work is done, and
// the event of the queue r waits on with it.
func (s *engineSys) blocking(r *retry.Request) int64 {
	s.w.X.Yield("the blocking syscall")
	s.w.Fire(s.w.WaitingOn(r.ID()))
	return Result
}

// completed records a completion, under ctx_lock.
func (s *engineSys) completed(r *retry.Request, res int64) {
	i := r.ID()
	s.reqs[i] = r
	s.w.Complete(i, res, r.KickReq().SnapshotLocked().Kicks)
}

func (s *engineSys) Submit(is []int) {
	var iocbs []*core.Iocb
	for _, i := range is {
		iocbs = append(iocbs, s.iocbs[i])
	}
	n, err := s.c.SubmitScripted(iocbs)
	for _, i := range is[n:] {
		if err != unix.EINVAL || !s.w.destroyed {
			s.w.X.Failf("submit", "Submit took %d of %d: %v", n, len(iocbs), err)
		}
		s.w.Reqs[i].Refused = true // Destroy came first
	}
}

func (s *engineSys) Worker() { s.c.KickWorker() }

func (s *engineSys) Taken(i int) bool { return s.reqs[i] != nil || s.w.Reqs[i].Refused }

func (s *engineSys) Wake(q int) { s.c.PollWake(s.w.Queues[q], unix.EPOLLIN) }

func (s *engineSys) OffloadWorker(q int) { s.c.OffloadWorker() }

func (s *engineSys) Cancel(i int) { s.c.Cancel(s.iocbs[i]) }

func (s *engineSys) Destroy() { s.c.Destroy() }

func (s *engineSys) Do(i int) {
	if ev := s.c.DoScripted(s.iocbs[i]); ev.Res == -int64(unix.EINVAL) && s.reqs[i] == nil {
		s.w.Reqs[i].Refused = true // Destroy came first
	}
	s.w.Reqs[i].Freed = true // Do returned: the request goes back to the free list
}

// Reap waits for the events of the async requests, with no timeout, as a
// reaper asleep in GetEvents does; Destroy must wake it (EINVAL).
func (s *engineSys) Reap() bool {
	want := len(s.iocbs) - s.sync
	evs := make([]core.Event, want)
	got := 0
	for got < want {
		n, err := s.c.GetEvents(context.Background(), want-got, evs[got:], -1)
		got += n
		if err != nil {
			break
		}
	}
	s.w.Reaped = append(s.w.Reaped, got)
	return true
}

func (s *engineSys) State(i int) State {
	r := s.reqs[i]
	if r == nil {
		return State{}
	}
	st := r.KickReq().SnapshotLocked()
	return State{Linked: st.Linked, Queued: st.Queued, Kicks: st.Kicks}
}

func (s *engineSys) RunList() []int {
	var out []int
	for _, kr := range s.c.Kick().RunListLocked(nil, 16) {
		out = append(out, kr.Owner.(*retry.Request).ID())
	}
	return out
}

func (s *engineSys) Note(i int) *lock.Note {
	if !s.w.Reqs[i].Sync || s.reqs[i] == nil {
		return nil
	}
	return &s.reqs[i].KickReq().Note
}

// Final checks the engine's counters once no thread can run: every
// request taken has ended, once.
func (s *engineSys) Final() error {
	st := s.c.StatsStopped()
	if st.InFlight != 0 || st.Completed != st.Submitted {
		return &explore.Failure{Kind: "lost-wakeup", Msg: fmt.Sprintf("requests still in flight at the end: %+v", st)}
	}
	return nil
}
