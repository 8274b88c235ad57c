// Package explore is a deterministic schedule explorer: stateless model
// checking in the manner of CHESS and Rust's loom.
//
// A scenario starts controlled goroutines (threads) with Run.Go. They run
// one at a time: each runs until its next yield point, where it stops and
// says what it is about to do (take or release a lock, sleep on or wake a
// note, an explicit Yield such as an atomic flag operation, or a WaitUntil
// on a condition). The explorer then chooses which enabled thread goes next.
// A thread that wants a held lock, sleeps on a note with no wake-up pending,
// or waits for a false condition is not enabled. Each choice is recorded;
// Explore replays the scenario from the start with every untried choice, in
// depth-first order, until every schedule has been run or a bound is hit.
//
// The explorer knows nothing of what it explores. The code under test is
// made scheduler-aware through lock.Sched: Run implements it, and a
// scenario hands it to every lock.Mutex and lock.Note it creates
// (SetSched) before any thread starts. Production code leaves the hook nil.
//
// Checks: a scenario's Check functions run after every step (one thread's
// run from one yield point to the next), its Final functions when no thread
// can run; a thread may call Fail; a panic in a thread fails the schedule;
// so does a deadlock (no thread can run while a non-daemon thread has not
// finished) and a schedule longer than Options.MaxSteps (a livelock).
package explore

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"

	"github.com/kaio-go/kaio/internal/lock"
)

// Kind is the kind of operation a thread stopped before.
type Kind uint8

const (
	KindStart   Kind = iota // the thread has not run yet
	KindLock                // lock.Mutex.Lock
	KindUnlock              // lock.Mutex.Unlock
	KindSleep               // lock.Note.Sleep
	KindWakeup              // lock.Note.Wakeup
	KindYield               // an explicit yield point (Run.Yield)
	KindWait                // Run.WaitUntil
	KindBackoff             // Run.Backoff
)

// Step is one step of a schedule: the thread that ran and the operation it
// did, plus notes the code added during the step (Run.Note).
type Step struct {
	Thread int
	Kind   Kind
	Name   string // the thread's name
	Group  string // the thread's group (a column when printed)
	Label  string // what the thread did first in this step
	Func   string // the function that did it, when known
	Notes  []string
}

// Failure is a failed schedule.
type Failure struct {
	Kind  string // a short class, chosen by whoever found it ("deadlock", "panic", a check's kind)
	Msg   string
	Trace []Step // the schedule up to and including the failing step
	// Steps is the length of the schedule (of Trace, once recorded).
	Steps int
	// Preemptions is how many times the schedule switched away from a
	// thread that could have gone on.
	Preemptions int
}

func (f *Failure) Error() string { return f.Kind + ": " + f.Msg }

// Options bound the exploration.
type Options struct {
	// MaxSchedules stops the search after this many schedules (0: no bound).
	MaxSchedules int
	// MaxSteps fails a schedule that takes more steps (a livelock); 0 means 2000.
	MaxSteps int
	// Preemptions bounds the preemptive context switches per schedule
	// (CHESS's bound); negative means no bound.
	Preemptions int
	// StopAtFirst ends the search at the first failing schedule.
	StopAtFirst bool
	// BranchOnUnlock makes Unlock a scheduling point too. By default an
	// Unlock is carried out at once and the thread runs on to its next
	// yield point: for code whose shared state is accessed only under the
	// explorer's locks or at explicit yield points, a switch right after
	// an unlock reaches the same states as a switch at the thread's next
	// yield point, so these schedules add nothing. Unlocks still appear in
	// traces. (Wakeup stays a scheduling point: it touches the note's
	// memory, whose owner may be gone.)
	BranchOnUnlock bool
}

// Result is what a search found.
type Result struct {
	// Schedules is the number of schedules run to their end (or failure).
	Schedules int
	// Exhaustive is true when every schedule within Options.Preemptions
	// was run: MaxSchedules was not hit and StopAtFirst did not stop it.
	Exhaustive bool
	// MaxDepth is the most steps of any schedule.
	MaxDepth int
	// Failed counts failing schedules.
	Failed int
	// Shortest holds, per failure kind, the shortest failing schedule
	// (fewest steps, then fewest preemptions).
	Shortest map[string]*Failure
}

// Kinds returns the failure kinds found, sorted.
func (r *Result) Kinds() []string { return slices.Sorted(maps.Keys(r.Shortest)) }

// decision is one scheduling choice: the threads that could run, in the
// order they are tried (the one that ran last first), and which was taken.
type decision struct {
	enabled []int
	choice  int
}

// Explore runs every schedule of setup. setup is called once per schedule:
// it builds fresh state, hands it to the Run (SetSched on every lock and
// note) and starts threads with Run.Go; it must be deterministic.
func Explore(setup func(*Run), opts Options) Result {
	if opts.MaxSteps == 0 {
		opts.MaxSteps = 2000
	}
	res := Result{Shortest: map[string]*Failure{}}
	// Schedules run without a trace; the shortest failing ones are run
	// again, with the same choices, to record theirs.
	replay := map[string][]decision{}
	defer func() {
		for k, d := range replay {
			r := newRun(opts, d)
			r.tracing = true
			if f := r.execute(setup); f != nil && f.Kind == k {
				res.Shortest[k] = f
			}
		}
	}()
	var prefix []decision
	for {
		r := newRun(opts, prefix)
		fail := r.execute(setup)
		res.Schedules++
		res.MaxDepth = max(res.MaxDepth, r.steps)
		if fail != nil {
			res.Failed++
			if old := res.Shortest[fail.Kind]; old == nil || fail.Steps < old.Steps ||
				fail.Steps == old.Steps && fail.Preemptions < old.Preemptions {
				res.Shortest[fail.Kind] = fail
				replay[fail.Kind] = r.decisions
			}
			if opts.StopAtFirst {
				return res
			}
		}
		// Backtrack: the deepest decision with an untried alternative.
		d := r.decisions
		i := len(d) - 1
		for i >= 0 && d[i].choice+1 >= len(d[i].enabled) {
			i--
		}
		if i < 0 {
			res.Exhaustive = true
			return res
		}
		if opts.MaxSchedules > 0 && res.Schedules >= opts.MaxSchedules {
			return res
		}
		prefix = append(d[:i:i], decision{enabled: d[i].enabled, choice: d[i].choice + 1})
	}
}

// Run is one execution of a scenario under one schedule. It implements
// lock.Sched.
type Run struct {
	opts      Options
	prefix    []decision
	decisions []decision
	threads   []*thread
	cur       *thread // the thread running, nil while the explorer chooses
	back      chan struct{}
	trace     []Step
	steps     int
	tracing   bool
	preempt   int
	names     map[any]string
	owner     map[*lock.Mutex]*thread
	checks    []func() error
	finals    []func() error
	befores   []func(k Kind, obj any) error
	failure   *Failure
	exited    chan struct{}
	aborting  bool
}

var _ lock.Sched = (*Run)(nil)

type thread struct {
	id     int
	name   string
	group  string
	daemon bool
	resume chan bool // true: go on; false: the schedule is over, exit
	done   bool
	kind   Kind
	obj    any
	label  string
	fn     string
	cond   func() bool
}

// abortPanic ends a thread's goroutine when its schedule is over.
type abortPanic struct{}

// failPanic ends a thread's goroutine after Run.Fail.
type failPanic struct{}

func newRun(opts Options, prefix []decision) *Run {
	return &Run{
		opts:   opts,
		prefix: prefix,
		back:   make(chan struct{}),
		names:  map[any]string{},
		owner:  map[*lock.Mutex]*thread{},
		exited: make(chan struct{}, 64),
	}
}

// Name gives a lock, note or other object a name for traces.
func (r *Run) Name(obj any, name string) { r.names[obj] = name }

// Check adds a check that runs after every step. A non-nil error fails the
// schedule; if it is a *Failure its Kind is kept.
func (r *Run) Check(f func() error) { r.checks = append(r.checks, f) }

// Before adds a check that runs before every operation on an object is
// carried out (for instance: no wake-up of a note whose owner is gone).
func (r *Run) Before(f func(k Kind, obj any) error) { r.befores = append(r.befores, f) }

// Final adds a check that runs when the schedule ends without failure.
func (r *Run) Final(f func() error) { r.finals = append(r.finals, f) }

// Go starts a thread. group names the column it is printed in; a daemon
// thread may still be blocked when the schedule ends (a worker waiting for
// work). Call it from setup. The thread runs at once up to its first yield
// point: what it does before that must touch only its own state.
func (r *Run) Go(name, group string, daemon bool, fn func()) {
	t := &thread{id: len(r.threads), name: name, group: group, daemon: daemon, resume: make(chan bool), kind: KindStart, label: "start"}
	r.threads = append(r.threads, t)
	go r.body(t, fn)
	r.cur = t
	t.resume <- true
	<-r.back
	r.cur = nil
}

func (r *Run) body(t *thread, fn func()) {
	defer func() {
		p := recover()
		switch p.(type) {
		case nil, failPanic:
		case abortPanic:
			r.exited <- struct{}{}
			return
		default:
			if r.failure == nil {
				r.failure = &Failure{Kind: "panic", Msg: fmt.Sprint(p)}
			}
		}
		t.done = true
		r.back <- struct{}{}
	}()
	if !<-t.resume {
		panic(abortPanic{})
	}
	fn()
}

// Fail fails the schedule from inside a thread; the thread stops here.
func (r *Run) Fail(kind, msg string) {
	if r.failure == nil {
		r.failure = &Failure{Kind: kind, Msg: msg}
	}
	panic(failPanic{})
}

// Failf is Fail with a format.
func (r *Run) Failf(kind, format string, args ...any) { r.Fail(kind, fmt.Sprintf(format, args...)) }

// Note adds text to the current step of the trace (a thread's observation,
// such as the value a test-and-set returned).
func (r *Run) Note(text string) {
	if n := len(r.trace); r.tracing && n > 0 {
		r.trace[n-1].Notes = append(r.trace[n-1].Notes, text)
	}
}

// Yield is an explicit yield point: a racy access that the explorer must be
// able to interleave (an atomic flag operation, a list check done without
// the lock).
func (r *Run) Yield(label string) { r.stop(KindYield, nil, label, nil) }

// Backoff is a pause in a retry loop (a sleep before asking again): the
// thread runs on only when no other thread can, except others backing off.
// It is the explorer's one fairness assumption: a thread that pauses lets
// every other thread run to its next wait, so a loop that asks until the
// others move cannot starve them (which no real pause of microseconds
// against their steps of nanoseconds does). Going on after a Backoff is
// not a preemption, since the others could not run.
func (r *Run) Backoff(label string) { r.stop(KindBackoff, nil, label, nil) }

// WaitUntil stops the thread until cond holds (cond is evaluated by the
// explorer between steps, with every thread stopped). It models an event
// source that fires only after some state is reached.
func (r *Run) WaitUntil(label string, cond func() bool) { r.stop(KindWait, nil, label, cond) }

// Lock implements lock.Sched.
func (r *Run) Lock(m *lock.Mutex) { r.stop(KindLock, m, "", nil) }

// Unlock implements lock.Sched.
func (r *Run) Unlock(m *lock.Mutex) { r.stop(KindUnlock, m, "", nil) }

// Sleep implements lock.Sched.
func (r *Run) Sleep(n *lock.Note) { r.stop(KindSleep, n, "", nil) }

// Wakeup implements lock.Sched.
func (r *Run) Wakeup(n *lock.Note) { r.stop(KindWakeup, n, "", nil) }

// describe says what t is stopped before.
func (r *Run) describe(t *thread) string {
	switch t.kind {
	case KindLock:
		return "lock " + r.nameOf(t.obj)
	case KindSleep:
		return "sleep on " + r.nameOf(t.obj)
	}
	return fmt.Sprintf("%q", t.label)
}

func (r *Run) nameOf(obj any) string {
	if s, ok := r.names[obj]; ok {
		return s
	}
	return fmt.Sprintf("%T", obj)
}

// stop is a yield point: the running thread records what it is about to do
// and hands control to the explorer, which resumes it once it has chosen it
// and carried out the operation.
func (r *Run) stop(k Kind, obj any, label string, cond func() bool) {
	t := r.cur
	if r.aborting {
		panic(abortPanic{}) // a deferred call of a thread being ended
	}
	if t == nil {
		panic("explore: yield point outside a controlled thread")
	}
	t.kind, t.obj, t.label, t.cond = k, obj, label, cond
	if r.tracing {
		t.fn = caller()
	}
	if k == KindUnlock && !r.opts.BranchOnUnlock {
		r.record(t)
		r.apply(t)
		if r.failure != nil {
			panic(failPanic{})
		}
		return
	}
	r.back <- struct{}{}
	if !<-t.resume {
		panic(abortPanic{})
	}
}

// caller names the first function outside this package and package lock.
func caller() string {
	var pcs [8]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !strings.Contains(f.Function, "/internal/explore.") && !strings.Contains(f.Function, "/internal/lock.") {
			name := f.Function
			if i := strings.LastIndex(name, "/"); i >= 0 {
				name = name[i+1:]
			}
			return name
		}
		if !more {
			return ""
		}
	}
}

// enabled reports whether t can take its next step.
func (r *Run) enabled(t *thread) bool {
	if t.done {
		return false
	}
	switch t.kind {
	case KindLock:
		return !t.obj.(*lock.Mutex).Held()
	case KindSleep:
		return t.obj.(*lock.Note).Pending()
	case KindWait:
		return t.cond()
	}
	return true
}

// apply carries out t's operation, with every thread stopped.
func (r *Run) apply(t *thread) {
	for _, f := range r.befores {
		if err := f(t.kind, t.obj); err != nil {
			r.failure = asFailure(err)
			return
		}
	}
	switch t.kind {
	case KindLock:
		m := t.obj.(*lock.Mutex)
		m.SetHeld(true)
		r.owner[m] = t
	case KindUnlock:
		m := t.obj.(*lock.Mutex)
		if !m.Held() || r.owner[m] != t {
			r.failure = &Failure{Kind: "unlock", Msg: t.name + " unlocks " + r.nameOf(m) + ", which it does not hold"}
			return
		}
		m.SetHeld(false)
		delete(r.owner, m)
	case KindSleep:
		t.obj.(*lock.Note).SetPending(false)
	case KindWakeup:
		t.obj.(*lock.Note).SetPending(true)
	}
}

// execute runs setup and one schedule: the prefix's choices, then by
// default the thread that ran last (or the first that can run).
func (r *Run) execute(setup func(*Run)) *Failure {
	defer r.abort()
	setup(r)
	if r.failure != nil {
		return r.fail(r.failure)
	}
	last := -1
	for {
		var en []int
		lastOK := false
		// Threads at a Backoff run only when no other thread can.
		for _, backoff := range []bool{false, true} {
			for _, t := range r.threads {
				if (t.kind == KindBackoff) == backoff && r.enabled(t) {
					if t.id == last {
						lastOK = true
					} else {
						en = append(en, t.id)
					}
				}
			}
			if lastOK || len(en) > 0 {
				break
			}
		}
		if lastOK {
			en = append([]int{last}, en...)
		}
		if len(en) == 0 {
			var stuck []string
			for _, t := range r.threads {
				if !t.done && !t.daemon {
					stuck = append(stuck, fmt.Sprintf("%s at %s", t.name, r.describe(t)))
				}
			}
			if len(stuck) > 0 {
				return r.fail(&Failure{Kind: "deadlock", Msg: "no thread can run; blocked: " + strings.Join(stuck, ", ")})
			}
			for _, f := range r.finals {
				if err := f(); err != nil {
					return r.fail(asFailure(err))
				}
			}
			return nil
		}
		if lastOK && r.opts.Preemptions >= 0 && r.preempt >= r.opts.Preemptions {
			en = en[:1] // no preemption left: the running thread goes on
		}
		depth := len(r.decisions)
		choice := 0
		if depth < len(r.prefix) {
			p := r.prefix[depth]
			if !slices.Equal(p.enabled, en) {
				panic(fmt.Sprintf("explore: scenario is not deterministic: at step %d threads %v can run, %v on replay", depth, p.enabled, en))
			}
			choice = p.choice
		}
		r.decisions = append(r.decisions, decision{enabled: en, choice: choice})
		t := r.threads[en[choice]]
		if lastOK && t.id != last {
			r.preempt++
		}
		last = t.id
		r.record(t)
		if len(r.decisions) > r.opts.MaxSteps {
			return r.fail(&Failure{Kind: "livelock", Msg: fmt.Sprintf("schedule longer than %d steps", r.opts.MaxSteps)})
		}
		r.apply(t)
		if r.failure != nil {
			return r.fail(r.failure)
		}
		r.cur = t
		t.resume <- true
		<-r.back
		r.cur = nil
		if r.failure != nil {
			return r.fail(r.failure)
		}
		for _, f := range r.checks {
			if err := f(); err != nil {
				return r.fail(asFailure(err))
			}
		}
	}
}

// record counts a step, and traces it when tracing.
func (r *Run) record(t *thread) {
	r.steps++
	if !r.tracing {
		return
	}
	label := t.label
	switch t.kind {
	case KindLock:
		label = "lock " + r.nameOf(t.obj)
	case KindUnlock:
		label = "unlock " + r.nameOf(t.obj)
	case KindSleep:
		label = "sleep on " + r.nameOf(t.obj)
	case KindWakeup:
		label = "wake " + r.nameOf(t.obj)
	}
	r.trace = append(r.trace, Step{Thread: t.id, Kind: t.kind, Name: t.name, Group: t.group, Label: label, Func: t.fn})
}

func (r *Run) fail(f *Failure) *Failure {
	f.Trace = r.trace
	f.Steps = r.steps
	f.Preemptions = r.preempt
	return f
}

// abort ends the goroutines of threads that have not finished.
func (r *Run) abort() {
	r.aborting = true
	n := 0
	for _, t := range r.threads {
		if !t.done {
			t.resume <- false
			n++
		}
	}
	for ; n > 0; n-- {
		<-r.exited
	}
}

func asFailure(err error) *Failure {
	if f, ok := err.(*Failure); ok {
		return &Failure{Kind: f.Kind, Msg: f.Msg}
	}
	return &Failure{Kind: "check", Msg: err.Error()}
}
