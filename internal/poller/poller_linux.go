// Package poller is the retry engine's readiness source: one goroutine on a
// private epoll fd that turns readiness into wake-ups of wait queues, as the
// kernel's wake_up on a pipe or socket runs aio_wake_function.
//
// Each registration owns a duplicate of the user's fd (so that, like the
// kernel's file reference in a kiocb, the request keeps working on the same
// open file even if the user closes or reuses the fd number) and one wait
// queue. Registrations are armed edge-triggered and one-shot: Arm after
// linking a wait entry; epoll_ctl itself reports readiness that arrived
// before the arm, which is the "register, then check again" of every sleep.
package poller

import (
	"sync"

	"github.com/kaio-go/kaio/internal/waitq"
	"golang.org/x/sys/unix"
)

// Poller owns an epoll fd and the goroutine that waits on it.
type Poller struct {
	epfd int
	evfd int // wakes the loop to stop
	wg   sync.WaitGroup

	// mu guards regs, the registrations by their (duplicated) fd.
	mu   sync.Mutex
	regs map[int32]*Reg
}

// Reg is one registration: a private fd and its wait queue.
type Reg struct {
	Q     waitq.Queue
	fd    int
	added bool // EPOLL_CTL_ADD done; only its owner (a running request) arms it
}

// Fd is the registration's private duplicate of the user's fd.
func (r *Reg) Fd() int { return r.fd }

// New creates a poller and starts its goroutine.
func New() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, err
	}
	p := &Poller{epfd: epfd, evfd: evfd, regs: make(map[int32]*Reg)}
	p.wg.Add(1)
	go p.loop()
	return p, nil
}

// Register duplicates fd and returns a registration for it (not yet armed).
func (p *Poller) Register(fd int) (*Reg, error) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	r := &Reg{fd: dup}
	p.mu.Lock()
	p.regs[int32(dup)] = r
	p.mu.Unlock()
	return r, nil
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

// Close ends a registration: it leaves the epoll set (before the close, as
// the registration is keyed by open file and would outlive our fd if the
// user's fd still refers to the file) and its fd is closed. No wait entry
// may be linked on it.
func (p *Poller) Close(r *Reg) {
	p.mu.Lock()
	delete(p.regs, int32(r.fd))
	p.mu.Unlock()
	if r.added {
		unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, r.fd, nil)
	}
	unix.Close(r.fd)
	r.fd = -1
}

// Stop ends the goroutine and closes the epoll fd. Every registration must
// be closed first.
func (p *Poller) Stop() {
	var one = [8]byte{1}
	unix.Write(p.evfd, one[:])
	p.wg.Wait()
	unix.Close(p.epfd)
	unix.Close(p.evfd)
}

func (p *Poller) loop() {
	defer p.wg.Done()
	var events [128]unix.EpollEvent
	for {
		n, err := unix.EpollWait(p.epfd, events[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for i := 0; i < n; i++ {
			ev := &events[i]
			if int(ev.Fd) == p.evfd {
				return
			}
			p.mu.Lock()
			r := p.regs[ev.Fd]
			p.mu.Unlock()
			if r == nil {
				continue // closed since; its events are stale
			}
			// An error or hang-up wakes every waiter: a read sees EOF, a
			// write the error.
			r.Q.Wake(ev.Events, unix.EPOLLERR|unix.EPOLLHUP|unix.EPOLLRDHUP)
		}
	}
}
