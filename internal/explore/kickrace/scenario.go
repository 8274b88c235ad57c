//go:build linux

package kickrace

import (
	"fmt"

	"github.com/kaio-go/kaio/internal/explore"
	"github.com/kaio-go/kaio/internal/waitq"
)

// Scenario is one situation of the kick path, run under every schedule.
type Scenario struct {
	Name string
	Doc  string
	// Queues is the number of wait queues; Script the request's retry.
	Queues int
	Script []Step
	// Sync runs the request with Do instead of Submit and a kick worker.
	Sync bool
	// Reqs, when set, are the scenario's requests instead of the one of
	// Script and Sync. The async ones are submitted together by one
	// thread, in order; each sync one has a Do thread of its own.
	Reqs []ReqSpec
	// Wakers lists, per waker thread, the queue whose event it delivers.
	Wakers []int
	// Offloaders lists, per offload worker, the queue it serves.
	Offloaders []int
	// Cancel and Destroy add a thread that cancels the request (or each
	// of CancelReqs, in order) or destroys the context.
	Cancel, Destroy bool
	CancelReqs      []int
	// Reapers adds threads asleep in GetEvents, with no timeout, for the
	// events of the async requests (kaio's engine only): each must
	// return, with its events or, under Destroy, EINVAL.
	Reapers int
	// BatchWrites: the offloaded requests are writes to one file, which
	// kaio's offload workers make several at a time.
	BatchWrites bool
	// Deferred lists queues whose waits are kaio's deferred writes: the
	// request is left for GetEvents to make (a reaper), with no worker.
	Deferred []int
	// Engine: only kaio's engine runs the scenario (it has reapers, or
	// needs the engine's batching or its poller's shortcut).
	Engine bool
	// Preemptions, when above 0, bounds the search when the command line
	// does not: the scenarios of several requests and many threads are
	// out of reach of an exhaustive search.
	Preemptions int
}

// ReqSpec is one request of a scenario: its retry, and whether it runs
// with Do.
type ReqSpec struct {
	Script []Step
	Sync   bool
}

// requests returns s's requests.
func (s Scenario) requests() []ReqSpec {
	if s.Reqs != nil {
		return s.Reqs
	}
	return []ReqSpec{{Script: s.Script, Sync: s.Sync}}
}

// RunsOn reports whether p runs s.
func (s Scenario) RunsOn(p *Protocol) bool { return !s.Engine || p.Engine }

// Scenarios are the scenarios of cmd/aio-race, in order.
var Scenarios = []Scenario{
	{
		Name:   "complete",
		Doc:    "a wait is woken while its retry returns; the next iteration completes (RFC (1a), (2))",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Wakers: []int{0}, Preemptions: 4,
	},
	{
		Name:   "rewait",
		Doc:    "a wait is woken while its retry returns; the next iteration waits on another queue (RFC (1b), (2))",
		Queues: 2, Script: []Step{{Wait, 0}, {Wait, 1}, {Finish, 0}}, Wakers: []int{0, 1}, Preemptions: 4,
	},
	{
		Name:   "cancel",
		Doc:    "a wake races io_cancel of the waiting request",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Wakers: []int{0}, Cancel: true, Preemptions: 4,
	},
	{
		Name:   "destroy",
		Doc:    "a wake races io_destroy of the context",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Wakers: []int{0}, Destroy: true, Preemptions: 4,
	},
	{
		Name:   "twowakes",
		Doc:    "two wake-ups for one wait",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Wakers: []int{0, 0}, Preemptions: 4,
	},
	{
		Name:   "progress",
		Doc:    "a retry makes progress without queueing a wait (a short read), then waits, then completes",
		Queues: 1, Script: []Step{{Progress, 0}, {Wait, 0}, {Finish, 0}}, Wakers: []int{0}, Preemptions: 4,
	},
	{
		Name:   "abandon",
		Doc:    "a retry links a wait, then takes it back and fails (the poller refused to arm) while a wake comes",
		Queues: 1, Script: []Step{{Abandon, 0}}, Wakers: []int{0}, Preemptions: 4,
	},
	{
		Name:   "offload",
		Doc:    "a retry handed to an offload worker, whose kick races io_cancel",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Offloaders: []int{0}, Cancel: true, Preemptions: 4,
	},
	{
		Name:   "sync",
		Doc:    "a sync request (Do, is_sync_kiocb) woken while its retry returns",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Wakers: []int{0}, Sync: true, Preemptions: 4,
	},
	// Several requests, and the engine's own loops (kaio only).
	{
		Name:   "pollshortcut",
		Doc:    "the poller wakes one request and runs the run list itself (pollRuns set) while a canceller kicks another: the Signal the shortcut skips must not be lost",
		Queues: 2, Reqs: []ReqSpec{{Script: waitOn(0)}, {Script: waitOn(1)}},
		Wakers: []int{0}, Cancel: true, CancelReqs: []int{1}, Engine: true, Preemptions: 4,
	},
	{
		Name:   "requeue",
		Doc:    "a request makes progress without a wait and requeues itself (a short read) while the poller runs another",
		Queues: 2, Reqs: []ReqSpec{{Script: []Step{{Progress, 0}, {Wait, 0}, {Finish, 0}}}, {Script: waitOn(1)}},
		Wakers: []int{0, 1}, Engine: true, Preemptions: 3,
	},
	{
		Name:   "wakecanceldestroy",
		Doc:    "a wake races Cancel of one request and Destroy, which alone can end the other: each request ends once, and Destroy returns",
		Queues: 2, Reqs: []ReqSpec{{Script: waitOn(0)}, {Script: waitOn(1)}},
		Wakers: []int{0}, Cancel: true, Destroy: true, Engine: true, Preemptions: 2,
	},
	{
		Name:   "destroyreaper",
		Doc:    "Destroy while a reaper sleeps in GetEvents for the events of a waiting request and a woken one: it is woken, with EINVAL",
		Queues: 2, Reqs: []ReqSpec{{Script: waitOn(0)}, {Script: waitOn(1)}},
		Wakers: []int{0}, Destroy: true, Reapers: 1, Engine: true, Preemptions: 2,
	},
	{
		Name:   "offloadpoll",
		Doc:    "one request in an offload worker, another waiting on the poller, Cancel of both: the worker and the poller run requests at once",
		Queues: 2, Reqs: []ReqSpec{{Script: waitOn(0)}, {Script: waitOn(1)}},
		Offloaders: []int{0}, Wakers: []int{1}, Cancel: true, CancelReqs: []int{1, 0}, Engine: true, Preemptions: 2,
	},
	{
		Name:   "syncasync",
		Doc:    "a Do and a submitted request wait on one queue; one wake-up for both",
		Queues: 1, Reqs: []ReqSpec{{Script: waitOn(0), Sync: true}, {Script: waitOn(0)}},
		Wakers: []int{0}, Engine: true, Preemptions: 3,
	},
	{
		Name:   "three",
		Doc:    "three requests and three runners: one requeues itself after progress (the kick worker), one is woken (the poller), one is offloaded (its worker)",
		Queues: 3, Reqs: []ReqSpec{{Script: []Step{{Progress, 0}, {Finish, 0}}}, {Script: waitOn(1)}, {Script: waitOn(2)}},
		Wakers: []int{1}, Offloaders: []int{2}, Engine: true, Preemptions: 2,
	},
	{
		Name:        "offloadbatch",
		Doc:         "three writes to one file offloaded to three workers, which take them several at a time (the one batching leaves its file's writes to itself, and the others are not woken for them) while Cancel comes for one",
		Queues:      3,
		Reqs:        []ReqSpec{{Script: waitOn(0)}, {Script: waitOn(1)}, {Script: waitOn(2)}},
		Offloaders:  []int{0, 1, 2},
		Cancel:      true,
		CancelReqs:  []int{0},
		BatchWrites: true, Engine: true, Preemptions: 2,
	},
	{
		Name:       "deferwrites",
		Doc:        "two writes deferred to GetEvents, whose reaper may be asleep before they come (the deferral wakes it) and makes them, while Cancel comes for one",
		Queues:     2,
		Reqs:       []ReqSpec{{Script: waitOn(0)}, {Script: waitOn(1)}},
		Deferred:   []int{0, 1},
		Reapers:    1,
		Cancel:     true,
		CancelReqs: []int{0},
		Engine:     true, Preemptions: 3,
	},
	{
		Name:     "deferdestroy",
		Doc:      "a write deferred to GetEvents and Destroy, with a reaper asleep or making it: it ends once, and the reaper is woken",
		Queues:   1,
		Reqs:     []ReqSpec{{Script: waitOn(0)}},
		Deferred: []int{0},
		Reapers:  1,
		Destroy:  true,
		Engine:   true, Preemptions: 3,
	},
}

// waitOn is the script of a request that waits for queue q's event once,
// then finishes.
func waitOn(q int) []Step { return []Step{{Wait, q}, {Finish, 0}} }

// Find returns the scenario called name.
func Find(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Setup returns the explorer's setup function of s under p.
func (s Scenario) Setup(p *Protocol) func(*explore.Run) {
	return func(x *explore.Run) {
		w := &World{X: x, proto: p, fired: make([]bool, s.Queues), Offload: make([]bool, s.Queues), BatchWrites: s.BatchWrites}
		for q := 0; q < s.Queues; q++ {
			wq := new(waitq.Queue)
			wq.Mu.SetSched(x)
			x.Name(&wq.Mu, QueueName(q)+".lock")
			w.Queues = append(w.Queues, wq)
		}
		for _, q := range s.Offloaders {
			w.Offload[q] = true
		}
		for _, q := range s.Deferred {
			w.Offload[q] = true
			w.DeferWrites = true
		}
		w.Worker.Init()
		w.Worker.SetSched(x)
		x.Name(&w.Worker, "the kick worker")
		var async []int
		for i, r := range s.requests() {
			w.Reqs = append(w.Reqs, &Req{Script: r.Script, Sync: r.Sync})
			if !r.Sync {
				async = append(async, i)
			}
		}
		sys := p.New(w)

		for i, r := range w.Reqs {
			if !r.Sync {
				continue
			}
			name := "Do"
			if len(w.Reqs) > 1 {
				name = fmt.Sprintf("Do%d", i)
			}
			x.Go(name, "runner", false, func() { sys.Do(i) })
			if n := sys.Note(i); n != nil {
				x.Name(n, "the Do goroutine")
			}
		}
		if len(async) > 0 {
			x.Go("submit", "runner", false, func() { sys.Submit(async) })
			x.Go("worker", "runner", true, sys.Worker)
		}
		for k, q := range s.Wakers {
			name := "waker"
			if len(s.Wakers) > 1 {
				name = fmt.Sprintf("waker%d", k+1)
			}
			wq := w.Queues[q]
			x.Go(name, "waker", true, func() {
				// The event comes once a wait is linked; the fd stays
				// ready, so a wait linked later (by a request that looked
				// before the event) is woken too, as epoll reports
				// readiness that came before a registration is armed.
				for {
					x.WaitUntil("event on "+QueueName(q), func() bool { return wq.LenLocked() > 0 })
					w.Fire(q)
					sys.Wake(q)
				}
			})
		}
		for k, q := range s.Offloaders {
			name := "offload"
			if len(s.Offloaders) > 1 {
				name = fmt.Sprintf("offload%d", k+1)
			}
			x.Go(name, "waker", true, func() { sys.OffloadWorker(q) })
		}
		if s.Cancel {
			cancel := s.CancelReqs
			if cancel == nil {
				cancel = []int{0}
			}
			x.Go("cancel", "waker", false, func() {
				for _, i := range cancel {
					x.WaitUntil(fmt.Sprintf("request %d submitted", i), func() bool { return sys.Taken(i) })
					sys.Cancel(i)
				}
			})
		}
		if s.Destroy {
			x.Go("destroy", "waker", false, func() {
				x.WaitUntil("the requests submitted", allTaken(len(w.Reqs), sys.Taken))
				w.destroyed = true
				sys.Destroy()
			})
		}
		for k := 0; k < s.Reapers; k++ {
			name := "reaper"
			if s.Reapers > 1 {
				name = fmt.Sprintf("reaper%d", k+1)
			}
			x.Go(name, "runner", false, func() { sys.Reap() })
		}

		x.Check(func() error { return w.check(sys) })
		x.Before(func(k explore.Kind, obj any) error {
			if k != explore.KindWakeup {
				return nil
			}
			for i, r := range w.Reqs {
				if n := sys.Note(i); n != nil && obj == any(n) && r.Freed {
					return &explore.Failure{Kind: "1a-sync", Msg: "wake-up of a sync request whose Do has returned (freed memory)"}
				}
			}
			return nil
		})
		x.Final(func() error {
			for i, r := range w.Reqs {
				if r.Completions != 1 && !r.Refused {
					st := sys.State(i)
					return &explore.Failure{Kind: "lost-wakeup", Msg: fmt.Sprintf(
						"request %d never completed (wait linked %v, on the run list %v): a kick was lost", i, st.Linked, st.Queued)}
				}
			}
			return sys.Final()
		})
	}
}

// check is run after every step.
func (w *World) check(sys System) error {
	rl := sys.RunList()
	for i, r := range w.Reqs {
		st := sys.State(i)
		n := 0
		for _, j := range rl {
			if j == i {
				n++
			}
		}
		switch {
		case st.Queued && r.Completions > 0:
			return &explore.Failure{Kind: "1a", Msg: "a completed request is on the run list"}
		case st.Queued && st.Linked:
			return &explore.Failure{Kind: "1b", Msg: "a request is on the run list while a wait is linked"}
		case n > 1:
			return &explore.Failure{Kind: "2", Msg: "a request is on the run list twice"}
		case r.Completions > 0 && st.Kicks != r.kicksAtDone:
			return &explore.Failure{Kind: "1a", Msg: "a completed request was kicked"}
		}
	}
	return nil
}

// allTaken is the condition of a destroyer that waits until Submit (or
// Do) has taken each of the n requests of a scenario.
func allTaken(n int, taken func(int) bool) func() bool {
	return func() bool {
		for i := 0; i < n; i++ {
			if !taken(i) {
				return false
			}
		}
		return true
	}
}
