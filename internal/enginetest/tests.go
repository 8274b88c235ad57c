//go:build linux

package enginetest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"golang.org/x/sys/unix"
)

// CapacityExact: the kernel rounds its rings up, kaio still holds exactly
// nr.
func CapacityExact(t *testing.T, e *Engine) {
	for _, nr := range []int{1, 3, 5, 9} {
		c := e.NewCtx(t, nr)
		iocbs := make([]*core.Iocb, nr+1)
		for i := range iocbs {
			iocbs[i] = &core.Iocb{Op: core.OpNoop, Data: uint64(i)}
		}
		n, err := c.Submit(iocbs)
		if n != nr || !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("nr %d: Submit of %d = %d, %v", nr, nr+1, n, err)
		}
		// Do uses no slot.
		if ev := c.Do(&core.Iocb{Op: core.OpNoop}); ev.Res != 0 {
			t.Fatalf("Do with the ring full: %+v", ev)
		}
		ReapN(t, c, nr)
		if n, err := c.Submit(iocbs[nr:]); n != 1 || err != nil {
			t.Fatalf("Submit after reaping: %d, %v", n, err)
		}
		ReapN(t, c, 1)
	}
}

// GCDuringIO keeps reads in flight in the kernel (vectored file reads,
// O_DIRECT ones for DirectOnly engines, and pipe reads filled a little at a
// time) while the garbage collector runs over and over; the buffers are
// reachable only through the context. Every byte must land.
func GCDuringIO(t *testing.T, e *Engine) {
	const nr = 32
	c := e.NewCtx(t, nr)
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	type pp struct{ r, w int }
	pipes := make([]pp, nr)
	for i := range pipes {
		pipes[i].r, pipes[i].w = Pipe(t)
	}
	name := filepath.Join(t.TempDir(), "f")
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i*13 + i>>9)
	}
	if err := os.WriteFile(name, want, 0o600); err != nil {
		t.Fatal(err)
	}
	flags := os.O_RDONLY
	if e.DirectOnly {
		flags |= unix.O_DIRECT
	}
	f, err := os.OpenFile(name, flags, 0)
	if err != nil && e.DirectOnly {
		t.Skipf("O_DIRECT: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for round := 0; round < rounds; round++ {
		for i := range pipes {
			// Half pipe reads (they wait in the kernel), half
			// vectored file reads; no test variable keeps the buffers.
			var io *core.Iocb
			if i%2 == 0 {
				io = &core.Iocb{Op: core.OpPRead, Fd: pipes[i].r, Buf: make([]byte, 4096), Data: uint64(i)}
			} else {
				off := int64((round*nr + i) % 200 * 4096)
				iov := [][]byte{make([]byte, 1000), make([]byte, 3096)}
				if e.DirectOnly {
					b := Aligned(8192)
					iov = [][]byte{b[:1024], b[4096:7168]}
				}
				io = &core.Iocb{Op: core.OpPReadv, Fd: int(f.Fd()), Iov: iov, Offset: off, Data: uint64(i)}
			}
			if n, err := c.Submit([]*core.Iocb{io}); n != 1 {
				t.Fatalf("Submit: %v", err)
			}
		}
		runtime.GC()
		for i := 0; i < nr; i += 2 {
			msg := bytes.Repeat([]byte{byte(round + i)}, 4096)
			unix.Write(pipes[i].w, msg)
		}
		for _, ev := range ReapN(t, c, nr) {
			i := int(ev.Data)
			if i%2 == 0 {
				if ev.Res != 4096 || !bytes.Equal(ev.Obj.Buf, bytes.Repeat([]byte{byte(round + i)}, 4096)) {
					t.Fatalf("round %d pipe %d: res %d, bytes differ", round, i, ev.Res)
				}
				continue
			}
			got := append(append([]byte(nil), ev.Obj.Iov[0]...), ev.Obj.Iov[1]...)
			off := ev.Obj.Offset
			if ev.Res != 4096 || !bytes.Equal(got, want[off:off+4096]) {
				t.Fatalf("round %d file read %d: res %d, bytes differ", round, i, ev.Res)
			}
		}
	}
}

// StreamWriteContinues: a write bigger than the pipe completes with every
// byte, however many kernel requests it takes.
func StreamWriteContinues(t *testing.T, e *Engine) {
	c := e.NewCtx(t, 2)
	r, w := Pipe(t)
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i / 7)
	}
	if n, err := c.Submit([]*core.Iocb{{Op: core.OpPWritev, Fd: w, Iov: [][]byte{data[:5], data[5:]}}}); n != 1 {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 1<<16)
	evs := make([]core.Event, 1)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if n, _ := unix.Read(r, buf); n > 0 {
			got = append(got, buf[:n]...)
		}
		if n, _ := c.GetEvents(context.Background(), 0, evs, 0); n == 1 {
			break
		}
	}
	for {
		n, _ := unix.Read(r, buf)
		if n <= 0 {
			break
		}
		got = append(got, buf[:n]...)
	}
	if evs[0].Res != int64(len(data)) || !bytes.Equal(got, data) {
		t.Fatalf("event %+v, %d bytes read", evs[0], len(got))
	}
}

// CancelAnswers: a waiting read is cancelled (nil, -ECANCELED); a completed
// one is not in flight (EINVAL).
func CancelAnswers(t *testing.T, e *Engine) {
	c := e.NewCtx(t, 4)
	r, _ := Pipe(t)
	io := &core.Iocb{Op: core.OpPRead, Fd: r, Buf: make([]byte, 8)}
	c.Submit([]*core.Iocb{io})
	if err := c.Cancel(io); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if ev := ReapN(t, c, 1)[0]; ev.Res != -int64(unix.ECANCELED) {
		t.Fatalf("cancelled event %+v", ev)
	}
	if err := c.Cancel(io); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Cancel after the event: %v", err)
	}
}

// DestroyEndsWaiters: GetEvents sleeping in the kernel and Do waiting on a
// pipe are both released by Destroy.
func DestroyEndsWaiters(t *testing.T, e *Engine) {
	if ok, reason := e.Probe(); !ok {
		t.Skipf("%s not usable here: %s", e.Name, reason)
	}
	c, err := e.New(4)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := Pipe(t)
	c.Submit([]*core.Iocb{{Op: core.OpPRead, Fd: r, Buf: make([]byte, 1)}})
	errc := make(chan error, 2)
	go func() {
		// Either the cancelled read's event, or EINVAL from a
		// destroyed context.
		evs := make([]core.Event, 1)
		n, err := c.GetEvents(context.Background(), 1, evs, -1)
		if n == 1 {
			err = evs[0].Err()
		}
		errc <- err
	}()
	go func() {
		ev := c.Do(&core.Iocb{Op: core.OpPoll, Fd: r, Events: unix.POLLIN})
		errc <- ev.Err()
	}()
	time.Sleep(20 * time.Millisecond)
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case err := <-errc:
			if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ECANCELED) {
				t.Fatalf("waiter ended with %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a waiter outlived Destroy")
		}
	}
	if n, err := c.Submit([]*core.Iocb{{Op: core.OpNoop}}); n != 0 || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Submit after Destroy: %d, %v", n, err)
	}
	if err := c.Destroy(); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("second Destroy: %v", err)
	}
}

// WaiterSeesUserSpaceCompletion: a completion that kaio posts without the
// kernel (a NOOP, a cancelled continuation) wakes a GetEvents already
// asleep, whether it sleeps in the kernel or on its channel.
func WaiterSeesUserSpaceCompletion(t *testing.T, e *Engine) {
	c := e.NewCtx(t, 8)
	for round := 0; round < 20; round++ {
		done := make(chan int, 2)
		for g := 0; g < 2; g++ {
			go func() {
				n, _ := c.GetEvents(context.Background(), 1, make([]core.Event, 1), 5*time.Second)
				done <- n
			}()
		}
		time.Sleep(2 * time.Millisecond)
		c.Submit([]*core.Iocb{{Op: core.OpNoop}, {Op: core.OpNoop}})
		for g := 0; g < 2; g++ {
			select {
			case n := <-done:
				if n != 1 {
					t.Fatalf("round %d: GetEvents = %d", round, n)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("round %d: a GetEvents slept through a NOOP's completion", round)
			}
		}
	}
}
