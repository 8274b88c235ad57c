//go:build linux

package uring

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"github.com/kaio-go/kaio/internal/enginetest"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { enginetest.Main(m) }

var engine = enginetest.Engine{
	Name:  "io_uring",
	Setup: "io_uring_setup",
	Probe: func() (bool, string) { st := Probe(); return st.Usable, st.Reason },
	New:   func(nr int) (core.Backend, error) { return New(nr) },
}

// newCtx is enginetest's NewCtx for this package's own tests, which reach
// into the Context.
func newCtx(t testing.TB, nr int) *Context { return engine.NewCtx(t, nr).(*Context) }

func pipe(t testing.TB) (int, int) { return enginetest.Pipe(t) }

// TestShared runs the tests both kernel engines share (see
// internal/enginetest).
func TestShared(t *testing.T) { enginetest.Shared(t, &engine) }

// TestTimeoutWithoutExtArg: on kernels before 5.11 io_uring_enter takes no
// timeout and kaio waits in poll(2) on the ring fd; played here by turning
// EXT_ARG off.
func TestTimeoutWithoutExtArg(t *testing.T) {
	c := newCtx(t, 4)
	c.extArg = false
	r, w := pipe(t)
	c.Submit([]*core.Iocb{{Op: core.OpPRead, Fd: r, Buf: make([]byte, 1)}})
	start := time.Now()
	evs := make([]core.Event, 1)
	if n, err := c.GetEvents(context.Background(), 1, evs, 30*time.Millisecond); n != 0 || err != nil {
		t.Fatalf("GetEvents with nothing ready: %d, %v", n, err)
	}
	if d := time.Since(start); d < 25*time.Millisecond {
		t.Fatalf("timed out after %v", d)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		unix.Write(w, []byte{1})
	}()
	if n, err := c.GetEvents(context.Background(), 1, evs, 5*time.Second); n != 1 || err != nil || evs[0].Res != 1 {
		t.Fatalf("GetEvents: %d, %v, %+v", n, err, evs[0])
	}
}

// The ring is set up with IORING_SETUP_COOP_TASKRUN: a completion is posted
// by task work on the thread that submitted the request, and the kernel no
// longer interrupts that thread for it while it runs. A thread asleep
// (every idle thread of a Go program sleeps in a futex) is still woken for
// it, and a thread that runs on without a syscall runs it at its next
// interrupt: the reaper, on another thread, gets its event either way.
func TestCompletionOnAnIdleOrBusySubmitter(t *testing.T) {
	for _, busy := range []bool{false, true} {
		name := "asleep"
		if busy {
			name = "spinning"
		}
		t.Run(name, func(t *testing.T) {
			c := newCtx(t, 4)
			if !c.coopTaskrun {
				t.Log("this kernel refused IORING_SETUP_COOP_TASKRUN (before 5.19): the plain ring's wake-ups are tested")
			}
			r, w := pipe(t)
			submitted := make(chan error)
			stop := make(chan struct{})
			var spin atomic.Bool
			spin.Store(busy)
			done := make(chan struct{})
			go func() {
				defer close(done)
				runtime.LockOSThread() // this thread submits, then sleeps or spins
				defer runtime.UnlockOSThread()
				_, err := c.Submit([]*core.Iocb{{Op: core.OpPRead, Fd: r, Buf: make([]byte, 1)}})
				submitted <- err
				for spin.Load() {
				}
				<-stop
			}()
			if err := <-submitted; err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond) // the submitter is asleep or spinning
			unix.Write(w, []byte{1})
			evs := make([]core.Event, 1)
			n, err := c.GetEvents(context.Background(), 1, evs, 10*time.Second)
			spin.Store(false)
			close(stop)
			<-done
			if n != 1 || err != nil || evs[0].Res != 1 {
				t.Fatalf("GetEvents: %d, %v, %+v", n, err, evs[0])
			}
		})
	}
}
