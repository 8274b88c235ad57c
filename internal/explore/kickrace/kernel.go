//go:build linux

package kickrace

import (
	"fmt"

	"github.com/kaio-go/kaio/internal/explore"
	"github.com/kaio-go/kaio/internal/lock"
	"golang.org/x/sys/unix"
)

// This file explores the kernel engines' user-space bookkeeping (what
// internal/kctx does for uring and native around the kernel: submit,
// cancel, completion, reaping, destroy) with the kernel as a
// nondeterministic actor. The model kernel completes a request at once or
// later, in any order; it answers a cancel according to where the request
// is when the answer is made, so that every answer a real kernel gives can
// come: cancelled (a poll still waiting, an I/O not started), busy (an
// I/O under way: io_uring's -EALREADY; Linux AIO's file I/O), or not
// found (done already; not yet handed over; or, in io_uring, between a
// poll's wake-up and its retry, when ASYNC_CANCEL misses it).

// KernelKind is what the kernel does with a request of a kernel scenario.
type KernelKind uint8

const (
	// Poll never completes by itself (a read of a pipe that gets no
	// data): only a cancel ends it.
	Poll KernelKind = iota
	// IO completes by itself (a device's read): cancellable before it
	// starts, busy while it runs.
	IO
	// Stream completes first with -EAGAIN (readers raced for the bytes):
	// the bookkeeping issues it again; then it is a Poll.
	Stream
)

// KernelScenario is one situation of the kernel bookkeeping.
type KernelScenario struct {
	Name string
	Doc  string
	// Reqs are the requests' kinds; Sync marks those run with Do.
	Reqs []KernelKind
	Sync []bool
	// Cancel lists the requests a canceller cancels, in order, each as
	// soon as it is taken (racing its Submit).
	Cancel []int
	// Destroy adds a destroyer, once every request is taken.
	Destroy bool
	// Reapers adds threads asleep in GetEvents, with no timeout, for the
	// events of every async request.
	Reapers int
	// Preemptions bounds the search when the command line does not (0:
	// none).
	Preemptions int
}

// KernelScenarios are the kernel scenarios of cmd/aio-race.
var KernelScenarios = []KernelScenario{
	{
		Name: "k-cancelsubmit", Doc: "Cancel of a poll races its Submit: the cancel comes while the iocb is on its way into the kernel; a reaper waits for its event",
		Reqs: []KernelKind{Poll}, Cancel: []int{0}, Reapers: 1, Preemptions: 2,
	},
	{
		Name: "k-destroymiss", Doc: "Destroy of a poll that the kernel may miss (io_uring, between a wake-up and its retry); a reaper asleep must be woken",
		Reqs: []KernelKind{Poll}, Destroy: true, Reapers: 1, Preemptions: 2,
	},
	{
		Name: "k-cancelio", Doc: "Cancel of an I/O that completes by itself: cancelled before it starts, busy while it runs, not found once done",
		Reqs: []KernelKind{IO}, Cancel: []int{0}, Reapers: 1, Preemptions: 2,
	},
	{
		Name: "k-stream", Doc: "a stream completes with EAGAIN and is issued again while Cancel and Destroy come",
		Reqs: []KernelKind{Stream}, Cancel: []int{0}, Destroy: true, Preemptions: 2,
	},
	{
		Name: "k-two", Doc: "a poll and an I/O on one context, completions in any order, Cancel of the poll racing Destroy",
		Reqs: []KernelKind{Poll, IO}, Cancel: []int{0}, Destroy: true, Preemptions: 1,
	},
	{
		Name: "k-do", Doc: "a Do of a poll and a submitted I/O, then Destroy: Do's request ends too",
		Reqs: []KernelKind{Poll, IO}, Sync: []bool{true, false}, Destroy: true, Preemptions: 1,
	},
}

// FindKernel returns the kernel scenario called name.
func FindKernel(name string) (KernelScenario, bool) {
	for _, s := range KernelScenarios {
		if s.Name == name {
			return s, true
		}
	}
	return KernelScenario{}, false
}

func (s KernelScenario) sync(i int) bool { return i < len(s.Sync) && s.Sync[i] }

// Flavour is the kernel interface the model plays: io_uring (cancels
// answered later, by a CQE; a poll can be missed between its wake-up and
// its retry) or Linux AIO (io_cancel answers at once).
type Flavour struct {
	Name string
	// Later: cancels are answered later (ASYNC_CANCEL); else at once.
	Later bool
	// Transit: a poll may be between its wake-up and its retry, where a
	// cancel does not find it.
	Transit bool
}

// The flavours.
var (
	URingFlavour  = Flavour{Name: "uring", Later: true, Transit: true}
	NativeFlavour = Flavour{Name: "native"}
)

// kstate is where a request is in the model kernel.
type kstate uint8

const (
	kNone    kstate = iota // not handed over (or not yet)
	kQueued                // in the kernel, cancellable
	kTransit               // a poll between its wake-up and its retry: a cancel misses it
	kRunning               // an I/O under way: a cancel finds it busy
	kDone                  // completed, its completion posted
)

// kcqe is a completion the model kernel posted: a request's (res) or a
// cancel's answer.
type kcqe struct {
	tag    uint64
	res    int64
	cancel bool
	answer int // Cancelled, NotFound or Busy (kctx.Answer values)
}

// Model is the model kernel of one schedule, shared by the protocols:
// kaio's bookkeeping (kctx) and its rendering as it was at 9fadd19.
type Model struct {
	X  *explore.Run
	S  KernelScenario
	Fl Flavour
	// Mu guards everything below (the kernel's own locks). Lock order:
	// the bookkeeping's context lock → Mu.
	Mu      lock.Mutex
	state   []kstate
	tag     []uint64 // each request's tag in the kernel
	issues  []int    // how many times it was handed over
	transit []bool   // a poll has been missed once already (one miss each)
	cq      []kcqe
	cancels []kcancel // ASYNC_CANCELs not yet answered
	// Wake is the kernel waiter's wait queue (io_uring_enter, ppoll on
	// native's eventfd): a posted completion or WakeKernel wakes it.
	Wake lock.Note
	// Completions counts each request's completions (the bookkeeping's
	// event posts); Refused marks those Submit or Do refused.
	Completions []int
	Refused     []bool
	Closed      bool
	// Reaped is what each reaper got.
	Reaped []int
}

type kcancel struct {
	tag, target uint64
}

// NewModel makes the model kernel of scenario s for one schedule.
func NewModel(x *explore.Run, s KernelScenario, fl Flavour) *Model {
	n := len(s.Reqs)
	m := &Model{X: x, S: s, Fl: fl, state: make([]kstate, n), tag: make([]uint64, n), issues: make([]int, n),
		transit: make([]bool, n), Completions: make([]int, n), Refused: make([]bool, n)}
	m.Mu.SetSched(x)
	x.Name(&m.Mu, "the kernel's lock")
	m.Wake.Init()
	m.Wake.SetSched(x)
	x.Name(&m.Wake, "the kernel waiter")
	return m
}

// Handed records that request i is in the kernel under tag. Hold Mu.
func (m *Model) HandedLocked(i int, tag uint64) {
	m.state[i] = kQueued
	m.tag[i] = tag
	m.issues[i]++
	m.X.Note(fmt.Sprintf("(request %d is in the kernel)", i))
}

// post appends a completion and wakes the kernel waiter. Hold Mu.
func (m *Model) postLocked(e kcqe) {
	m.cq = append(m.cq, e)
	m.Wake.Wakeup()
}

// CancelNowLocked is io_cancel, answered at once: Cancelled (and the
// request's completion posted with -ECANCELED), NotFound or Busy. Hold Mu.
func (m *Model) CancelNowLocked(target uint64) int {
	a := m.cancelNowLocked(target)
	m.X.Note("→ " + [...]string{answerCancelled: "cancelled", answerNotFound: "not found", answerBusy: "busy"}[a])
	return a
}

func (m *Model) cancelNowLocked(target uint64) int {
	i := m.find(target)
	if i < 0 {
		return answerNotFound
	}
	switch m.state[i] {
	case kQueued:
		m.state[i] = kDone
		m.postLocked(kcqe{tag: target, res: -int64(unix.ECANCELED)})
		return answerCancelled
	case kRunning:
		return answerBusy
	case kTransit:
		// Missed once: the retry that re-arms the poll runs before the
		// cancel is asked again (a pause of microseconds against task
		// work's), so the next ask finds it. Without this the model
		// could starve the retry forever, which no kernel does.
		m.state[i] = kQueued
	}
	return answerNotFound // not handed over, in transit, or done
}

// The answers, as kctx numbers them.
const (
	answerCancelled = 1
	answerNotFound  = 2
	answerBusy      = 3
)

// find returns the request in the kernel under tag, or -1.
func (m *Model) find(tag uint64) int {
	for i, t := range m.tag {
		if t == tag && m.state[i] != kNone {
			return i
		}
	}
	return -1
}

// AskLaterLocked queues an ASYNC_CANCEL, answered by the kernel's cancel
// thread. Hold Mu.
func (m *Model) AskLaterLocked(tag, target uint64) {
	m.cancels = append(m.cancels, kcancel{tag, target})
}

// TakeLocked moves the posted completions out. Hold Mu.
func (m *Model) TakeLocked() []kcqe {
	cq := m.cq
	m.cq = nil
	return cq
}

// EmptyLocked reports whether nothing is posted. Hold Mu.
func (m *Model) EmptyLocked() bool { return len(m.cq) == 0 }

// Sleep is the kernel waiter's sleep: until a completion is posted (or
// WakeKernel). Called without the bookkeeping's lock.
func (m *Model) Sleep() {
	m.Mu.Lock()
	empty := len(m.cq) == 0
	m.Mu.Unlock()
	if empty {
		m.Wake.Sleep()
	}
}

// start starts the kernel's threads: one per request (its life in the
// kernel) and, for io_uring, the one that answers ASYNC_CANCEL.
func (m *Model) start() {
	for i, k := range m.S.Reqs {
		name := fmt.Sprintf("kernel%d", i)
		if len(m.S.Reqs) == 1 {
			name = "kernel"
		}
		m.X.Go(name, "kernel", true, func() { m.life(i, k) })
	}
	if m.Fl.Later {
		m.X.Go("kernel-cancel", "kernel", true, m.answerCancels)
	}
}

// life is what the kernel does with request i of kind k.
func (m *Model) life(i int, k KernelKind) {
	queued := func() bool { return m.state[i] == kQueued }
	switch k {
	case IO:
		m.X.WaitUntil("an I/O handed over", queued)
		m.move(i, kQueued, kRunning, nil)
		m.X.Yield("the device works")
		m.move(i, kRunning, kDone, &kcqe{tag: m.tag[i], res: 4096})
	case Stream:
		m.X.WaitUntil("a read handed over", queued)
		m.Mu.Lock()
		if m.state[i] == kQueued && m.issues[i] == 1 {
			m.state[i] = kDone
			m.postLocked(kcqe{tag: m.tag[i], res: -int64(unix.EAGAIN)}) // another reader took the bytes
		}
		m.Mu.Unlock()
		fallthrough
	case Poll:
		if !m.Fl.Transit {
			return
		}
		// Once: a wake-up that finds no data, and the retry that
		// re-arms the poll; a cancel in between does not find it.
		m.X.WaitUntil("a poll waiting", func() bool { return queued() && !m.transit[i] && (k != Stream || m.issues[i] > 1) })
		m.transit[i] = m.move(i, kQueued, kTransit, nil)
		m.X.Yield("task work: the poll's retry")
		m.move(i, kTransit, kQueued, nil)
	}
}

// move moves request i from state from to state to, posting e if not nil,
// unless a cancel moved it first; it reports whether it did.
func (m *Model) move(i int, from, to kstate, e *kcqe) bool {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	if m.state[i] != from {
		return false
	}
	m.state[i] = to
	if e != nil {
		m.postLocked(*e)
	}
	return true
}

// answerCancels is io_uring answering ASYNC_CANCELs, each in its turn.
func (m *Model) answerCancels() {
	for {
		m.X.WaitUntil("an ASYNC_CANCEL", func() bool { return len(m.cancels) > 0 })
		m.Mu.Lock()
		c := m.cancels[0]
		m.cancels = m.cancels[1:]
		a := m.CancelNowLocked(c.target)
		m.postLocked(kcqe{tag: c.tag, cancel: true, answer: a})
		m.Mu.Unlock()
	}
}

// Completed records the completion of request i, where the bookkeeping
// posts its event (under its lock).
func (m *Model) Completed(i int) {
	m.Completions[i]++
	if m.Completions[i] > 1 {
		m.X.Failf("completion", "request %d completed twice", i)
	}
}

// KernelSystem is one bookkeeping of a kernel engine for one schedule.
type KernelSystem interface {
	// Submit submits the async requests is in one call.
	Submit(is []int)
	// Do runs request i synchronously.
	Do(i int)
	// Cancel cancels request i.
	Cancel(i int)
	// Destroy destroys the context.
	Destroy()
	// Reap waits for n events with no timeout and returns how many came
	// before it returned (an error ends it).
	Reap(n int) int
	// Taken reports whether request i was taken (between steps).
	Taken(i int) bool
	// Final checks the bookkeeping's counters once no thread can run.
	Final() error
}

// KernelProtocol is a bookkeeping of the kernel engines over one flavour
// of the model kernel.
type KernelProtocol struct {
	Name string
	Doc  string
	Fl   Flavour
	New  func(m *Model) KernelSystem
}

// Setup returns the explorer's setup of s under p.
func (s KernelScenario) Setup(p *KernelProtocol) func(*explore.Run) {
	return func(x *explore.Run) {
		m := NewModel(x, s, p.Fl)
		sys := p.New(m)
		var async []int
		for i := range s.Reqs {
			if s.sync(i) {
				x.Go(fmt.Sprintf("Do%d", i), "user", false, func() { sys.Do(i) })
			} else {
				async = append(async, i)
			}
		}
		if len(async) > 0 {
			x.Go("submit", "user", false, func() { sys.Submit(async) })
		}
		if len(s.Cancel) > 0 {
			x.Go("cancel", "user", false, func() {
				for _, i := range s.Cancel {
					x.WaitUntil(fmt.Sprintf("request %d taken", i), func() bool { return sys.Taken(i) })
					sys.Cancel(i)
				}
			})
		}
		// Destroy and the reapers are daemons, so that one left asleep is
		// named by the final checks rather than reported as a deadlock.
		destroyed := false
		if s.Destroy {
			x.Go("destroy", "user", true, func() {
				x.WaitUntil("the requests taken", allTaken(len(s.Reqs), sys.Taken))
				sys.Destroy()
				destroyed = true
			})
		}
		for k := 0; k < s.Reapers; k++ {
			x.Go(fmt.Sprintf("reaper%d", k+1), "user", true, func() {
				m.Reaped = append(m.Reaped, sys.Reap(len(async)))
			})
		}
		m.start()
		x.Final(func() error {
			if s.Destroy && !destroyed {
				return &explore.Failure{Kind: "destroy-hang", Msg: "Destroy never returns: it waits for a completion the kernel does not owe"}
			}
			for i := range s.Reqs {
				if m.Completions[i] != 1 && !m.Refused[i] {
					return &explore.Failure{Kind: "lost-event", Msg: fmt.Sprintf("request %d ended %d times: an accepted iocb must end in exactly one event", i, m.Completions[i])}
				}
			}
			if len(m.Reaped) < s.Reapers {
				return &explore.Failure{Kind: "reaper-asleep", Msg: fmt.Sprintf("%d of %d reapers asleep at the end: every event came and every reaper must return", s.Reapers-len(m.Reaped), s.Reapers)}
			}
			return sys.Final()
		})
	}
}
