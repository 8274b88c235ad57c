package uring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/kaio-go/kaio/internal/core"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newCtx sets up a context, or skips when the kernel refuses io_uring here
// (ENOSYS, EPERM from seccomp or the sysctl, and the like).
func newCtx(t testing.TB, nr int) *Context {
	t.Helper()
	if st := Probe(); !st.Usable {
		t.Skipf("io_uring not usable here: %s", st.Reason)
	}
	c, err := New(nr)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		t.Skipf("io_uring_setup: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Destroy() })
	return c
}

func reapN(t testing.TB, c *Context, n int) []core.Event {
	t.Helper()
	evs := make([]core.Event, n)
	got := 0
	deadline := time.Now().Add(10 * time.Second)
	for got < n {
		k, err := c.GetEvents(nil, 1, evs[got:], time.Until(deadline))
		if err != nil || k == 0 {
			t.Fatalf("GetEvents after %d of %d: %d, %v", got, n, k, err)
		}
		got += k
	}
	return evs
}

func pipe(t testing.TB) (int, int) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

// TestCapacityExact: the kernel rounds the rings up to powers of two, kaio
// still holds exactly nr.
func TestCapacityExact(t *testing.T) {
	for _, nr := range []int{1, 3, 5, 9} {
		c := newCtx(t, nr)
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
		reapN(t, c, nr)
		if n, err := c.Submit(iocbs[nr:]); n != 1 || err != nil {
			t.Fatalf("Submit after reaping: %d, %v", n, err)
		}
		reapN(t, c, 1)
	}
}

// TestGCDuringIO keeps reads in flight in the kernel (on pipes, filled a
// little at a time) while the garbage collector runs over and over; the
// buffers are reachable only through the context. Every byte must land.
func TestGCDuringIO(t *testing.T) {
	const nr = 32
	c := newCtx(t, nr)
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	type pp struct{ r, w int }
	pipes := make([]pp, nr)
	for i := range pipes {
		pipes[i].r, pipes[i].w = pipe(t)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i*13 + i>>9)
	}
	f.Write(want)
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
				io = &core.Iocb{Op: core.OpPReadv, Fd: int(f.Fd()), Iov: [][]byte{make([]byte, 1000), make([]byte, 3096)}, Offset: off, Data: uint64(i)}
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
		for _, ev := range reapN(t, c, nr) {
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

// TestStreamWriteContinues: a write bigger than the pipe completes with
// every byte, over several SQEs.
func TestStreamWriteContinues(t *testing.T) {
	c := newCtx(t, 2)
	r, w := pipe(t)
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
		if n, _ := c.GetEvents(nil, 0, evs, 0); n == 1 {
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

// TestCancelAnswers: a waiting read is cancelled (nil, -ECANCELED); a
// completed one is not in flight (EINVAL).
func TestCancelAnswers(t *testing.T) {
	c := newCtx(t, 4)
	r, _ := pipe(t)
	io := &core.Iocb{Op: core.OpPRead, Fd: r, Buf: make([]byte, 8)}
	c.Submit([]*core.Iocb{io})
	if err := c.Cancel(io); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if ev := reapN(t, c, 1)[0]; ev.Res != -int64(unix.ECANCELED) {
		t.Fatalf("cancelled event %+v", ev)
	}
	if err := c.Cancel(io); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Cancel after the event: %v", err)
	}
}

// TestDestroyEndsWaiters: GetEvents sleeping in io_uring_enter and Do
// waiting on a pipe are both released by Destroy.
func TestDestroyEndsWaiters(t *testing.T) {
	if st := Probe(); !st.Usable {
		t.Skipf("io_uring not usable here: %s", st.Reason)
	}
	c, err := New(4)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := pipe(t)
	c.Submit([]*core.Iocb{{Op: core.OpPRead, Fd: r, Buf: make([]byte, 1)}})
	errc := make(chan error, 2)
	go func() {
		// Either the cancelled read's event, or EINVAL from a
		// destroyed context.
		evs := make([]core.Event, 1)
		n, err := c.GetEvents(nil, 1, evs, -1)
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

func TestProbe(t *testing.T) {
	st := Probe()
	t.Logf("io_uring: usable %v, %s (%v)", st.Usable, st.Reason, st.Err)
	if !st.Usable && st.Reason == "" {
		t.Fatal("unusable without a reason")
	}
}

// TestProbeSysctlReason: with setup refused by EPERM, the reason names the
// sysctl when it is set. Only runnable where io_uring_disabled is 2.
func TestProbeSysctlReason(t *testing.T) {
	b, err := os.ReadFile(disabledPath)
	if err != nil || len(b) == 0 || b[0] != '2' {
		t.Skip("kernel.io_uring_disabled is not 2 here")
	}
	if st := Probe(); st.Usable || !errors.Is(st.Err, unix.EPERM) {
		t.Fatalf("Probe with io_uring disabled: %+v", st)
	}
}

// TestWaiterSeesUserSpaceCompletion: a completion that kaio posts without
// the kernel (a NOOP, a cancelled continuation) wakes a GetEvents already
// asleep, whether it sleeps in the kernel or on its channel.
func TestWaiterSeesUserSpaceCompletion(t *testing.T) {
	c := newCtx(t, 8)
	for round := 0; round < 20; round++ {
		done := make(chan int, 2)
		for g := 0; g < 2; g++ {
			go func() {
				n, _ := c.GetEvents(nil, 1, make([]core.Event, 1), 5*time.Second)
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
	if n, err := c.GetEvents(nil, 1, evs, 30*time.Millisecond); n != 0 || err != nil {
		t.Fatalf("GetEvents with nothing ready: %d, %v", n, err)
	}
	if d := time.Since(start); d < 25*time.Millisecond {
		t.Fatalf("timed out after %v", d)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		unix.Write(w, []byte{1})
	}()
	if n, err := c.GetEvents(nil, 1, evs, 5*time.Second); n != 1 || err != nil || evs[0].Res != 1 {
		t.Fatalf("GetEvents: %d, %v, %+v", n, err, evs[0])
	}
}
