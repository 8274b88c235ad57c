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
	// Wakers lists, per waker thread, the queue whose event it delivers.
	Wakers []int
	// Offloaders lists, per offload worker, the queue it serves.
	Offloaders []int
	// Cancel and Destroy add a thread that cancels the request or
	// destroys the context.
	Cancel, Destroy bool
}

// Scenarios are the scenarios of cmd/aio-race, in order.
var Scenarios = []Scenario{
	{
		Name:   "complete",
		Doc:    "a wait is woken while its retry returns; the next iteration completes (RFC (1a), (2))",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Wakers: []int{0},
	},
	{
		Name:   "rewait",
		Doc:    "a wait is woken while its retry returns; the next iteration waits on another queue (RFC (1b), (2))",
		Queues: 2, Script: []Step{{Wait, 0}, {Wait, 1}, {Finish, 0}}, Wakers: []int{0, 1},
	},
	{
		Name:   "cancel",
		Doc:    "a wake races io_cancel of the waiting request",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Wakers: []int{0}, Cancel: true,
	},
	{
		Name:   "destroy",
		Doc:    "a wake races io_destroy of the context",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Wakers: []int{0}, Destroy: true,
	},
	{
		Name:   "twowakes",
		Doc:    "two wake-ups for one wait",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Wakers: []int{0, 0},
	},
	{
		Name:   "progress",
		Doc:    "a retry makes progress without queueing a wait (a short read), then waits, then completes",
		Queues: 1, Script: []Step{{Progress, 0}, {Wait, 0}, {Finish, 0}}, Wakers: []int{0},
	},
	{
		Name:   "abandon",
		Doc:    "a retry links a wait, then takes it back and fails (the poller refused to arm) while a wake comes",
		Queues: 1, Script: []Step{{Abandon, 0}}, Wakers: []int{0},
	},
	{
		Name:   "offload",
		Doc:    "a retry handed to an offload worker, whose kick races io_cancel",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Offloaders: []int{0}, Cancel: true,
	},
	{
		Name:   "sync",
		Doc:    "a sync request (Do, is_sync_kiocb) woken while its retry returns",
		Queues: 1, Script: []Step{{Wait, 0}, {Finish, 0}}, Wakers: []int{0}, Sync: true,
	},
}

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
		w := &World{X: x, proto: p, fired: make([]bool, s.Queues)}
		for q := 0; q < s.Queues; q++ {
			wq := new(waitq.Queue)
			wq.Mu.SetSched(x)
			x.Name(&wq.Mu, QueueName(q)+".lock")
			w.Queues = append(w.Queues, wq)
		}
		w.Worker.Init()
		w.Worker.SetSched(x)
		x.Name(&w.Worker, "the kick worker")
		w.Reqs = []*Req{{Script: s.Script, Sync: s.Sync}}
		sys := p.New(w)
		if n := sys.Note(0); n != nil {
			x.Name(n, "the Do goroutine")
		}

		if s.Sync {
			x.Go("Do", "runner", false, func() { sys.Do(0) })
		} else {
			x.Go("submit", "runner", false, func() { sys.Submit(0) })
			x.Go("worker", "runner", true, func() {
				for {
					if !sys.WorkOnce() {
						w.Worker.Sleep()
					}
				}
			})
		}
		for k, q := range s.Wakers {
			name := "waker"
			if len(s.Wakers) > 1 {
				name = fmt.Sprintf("waker%d", k+1)
			}
			wq := w.Queues[q]
			x.Go(name, "waker", true, func() {
				x.WaitUntil("event on "+QueueName(q), func() bool { return wq.LenLocked() > 0 })
				w.fired[q] = true
				wq.Wake(0, 0)
			})
		}
		for _, q := range s.Offloaders {
			wq := w.Queues[q]
			x.Go("offload", "waker", true, func() {
				x.WaitUntil("work on "+QueueName(q), func() bool { return wq.LenLocked() > 0 })
				w.fired[q] = true
				sys.Offload(wq)
			})
		}
		if s.Cancel {
			x.Go("cancel", "waker", false, func() { sys.Cancel(0) })
		}
		if s.Destroy {
			x.Go("destroy", "waker", false, func() { sys.Destroy() })
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
				if r.Completions != 1 {
					st := sys.State(i)
					return &explore.Failure{Kind: "lost-wakeup", Msg: fmt.Sprintf(
						"request %d never completed (wait linked %v, on the run list %v): a kick was lost", i, st.Linked, st.Queued)}
				}
			}
			return nil
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
