// Package poller is the retry engine's readiness source: one goroutine on a
// private epoll fd that turns readiness into wake-ups of wait queues, as the
// kernel's wake_up on a pipe or socket runs aio_wake_function.
//
// Each registration is an fd its owner keeps open until Close (the retry
// engine registers the request's own duplicate of the user's fd, so that,
// like the kernel's file reference in a kiocb, the request keeps working on
// the same open file even if the user closes or reuses the number) and one
// wait queue. Registrations are armed edge-triggered and one-shot: Arm after
// linking a wait entry; epoll_ctl itself reports readiness that arrived
// before the arm, which is the "register, then check again" of every sleep.
package poller

import (
	"os"
	"sync"
	"syscall"

	"github.com/kaio-go/kaio/internal/waitq"
	"golang.org/x/sys/unix"
)

// Poller owns an epoll fd and the goroutine that waits on it.
type Poller struct {
	epfd int
	file *os.File        // epfd, registered with the Go runtime's poller
	rc   syscall.RawConn // waits for epfd to be readable
	wg   sync.WaitGroup
	// batch brackets each batch of wake-ups: batch(true) before the wake
	// callbacks run, batch(false) after. The retry engine uses it to run
	// the requests those callbacks kicked on this goroutine, saving a
	// hand-off to a kick worker.
	batch func(start bool)

	// mu guards regs, the registrations by their (duplicated) fd, and
	// free, closed registrations kept for reuse (so that a steady stream of
	// waits allocates nothing). A reused Reg's queue may still be locked by
	// a canceller holding a stale pointer to it: the kick protocol's
	// UnlinkAndKick checks the request's generation for exactly that.
	mu   sync.Mutex
	regs map[int32]*Reg
	free *Reg
}

// Reg is one registration: an fd and its wait queue.
type Reg struct {
	Q     waitq.Queue
	fd    int
	added bool // EPOLL_CTL_ADD done; only its owner (a running request) arms it
	next  *Reg // free list
}

// New creates a poller and starts its goroutine. batch, if not nil, is
// called around each batch of wake-ups (see Poller.batch).
func New(batch func(start bool)) (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// The epoll fd is itself pollable: handed to the Go runtime's network
	// poller (non-blocking, through os.NewFile), the loop's goroutine
	// parks in the scheduler instead of holding a thread in epoll_wait,
	// and a wake-up costs no thread hand-off.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	f := os.NewFile(uintptr(epfd), "kaio-epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	p := &Poller{epfd: epfd, file: f, rc: rc, regs: make(map[int32]*Reg), batch: batch}
	p.wg.Add(1)
	go p.loop()
	return p, nil
}

// Register returns a registration for fd (not yet armed). The caller
// keeps fd open, and its number unused by any other registration, until it
// calls Close.
func (p *Poller) Register(fd int) *Reg {
	p.mu.Lock()
	r := p.free
	if r != nil {
		p.free = r.next
		r.next = nil
	} else {
		r = new(Reg)
	}
	r.fd, r.added = fd, false
	p.regs[int32(fd)] = r
	p.mu.Unlock()
	return r
}

// Arm asks for one wake-up of r's queue when the fd is ready for mask
// (EPOLLIN, EPOLLOUT, ...); errors and hang-ups always wake. If the fd is
// ready already, the wake-up comes at once. EPERM means the fd cannot be
// polled (a regular file).
func (p *Poller) Arm(r *Reg, mask uint32) error {
	ev := unix.EpollEvent{Events: mask | unix.EPOLLONESHOT | unix.EPOLLRDHUP, Fd: int32(r.fd)}
	op := unix.EPOLL_CTL_MOD
	if !r.added {
		op = unix.EPOLL_CTL_ADD
	}
	if err := unix.EpollCtl(p.epfd, op, r.fd, &ev); err != nil {
		return err
	}
	r.added = true
	return nil
}

// Close ends a registration: its fd leaves the epoll set, which the owner
// must let happen before it closes the fd (an epoll registration is keyed
// by open file, and would outlive the number if another fd still refers
// to the file). No wait entry may be linked on it.
func (p *Poller) Close(r *Reg) {
	p.mu.Lock()
	delete(p.regs, int32(r.fd))
	p.mu.Unlock()
	if r.added {
		unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, r.fd, nil)
	}
	r.fd = -1
	p.mu.Lock()
	r.next = p.free
	p.free = r
	p.mu.Unlock()
}

// Stop ends the goroutine and closes the epoll fd. Every registration must
// be closed first.
func (p *Poller) Stop() {
	p.file.Close() // ends the loop's wait with an error, and closes epfd
	p.wg.Wait()
}

func (p *Poller) loop() {
	defer p.wg.Done()
	var events [128]unix.EpollEvent
	var n int
	wait := func(fd uintptr) bool {
		var err error
		n, err = unix.EpollWait(int(fd), events[:], 0)
		return err != unix.EAGAIN && err != unix.EINTR && (err != nil || n > 0)
	}
	for {
		n = 0
		if err := p.rc.Read(wait); err != nil {
			return // closed by Stop
		}
		if n <= 0 {
			continue
		}
		var qs [len(events)]*waitq.Queue
		var masks [len(events)]uint32
		k := 0
		p.mu.Lock()
		for i := 0; i < n; i++ {
			if r := p.regs[events[i].Fd]; r != nil { // else closed since: stale
				qs[k], masks[k] = &r.Q, events[i].Events
				k++
			}
		}
		p.mu.Unlock()
		Deliver(p.batch, qs[:k], masks[:k])
	}
}

// Deliver is what the poller goroutine does with a batch of readiness
// events: batch(true), the wake callbacks of each queue with its events,
// batch(false). An error or hang-up wakes every waiter: a read sees EOF, a
// write the error. The schedule explorer runs it in place of epoll.
func Deliver(batch func(start bool), qs []*waitq.Queue, masks []uint32) {
	if batch != nil {
		batch(true)
	}
	for i, q := range qs {
		q.Wake(masks[i], unix.EPOLLERR|unix.EPOLLHUP|unix.EPOLLRDHUP)
	}
	if batch != nil {
		batch(false)
	}
}
