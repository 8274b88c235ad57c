//go:build linux

package conformance

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

var streamCases = []Case{
	{"Pipe/ReadWaitsForData", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, w := pipe(t)
		buf := make([]byte, 100)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: buf, Offset: 12345})
		noEvent(t, c, 20*time.Millisecond)
		unix.Write(w, []byte("hello"))
		ev := reap(t, c, 1)[0]
		if ev.Res != 5 || string(buf[:5]) != "hello" {
			t.Fatalf("pipe read %+v %q", ev, buf[:5])
		}
	}},
	{"Pipe/WriteWaitsForRoom", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, w := pipe(t)
		// Fill the pipe.
		fill := make([]byte, 1<<16)
		for {
			if _, err := unix.Write(w, fill); err != nil {
				break
			}
		}
		data := pattern(100000, 3)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPWrite, Fd: w, Buf: data})
		noEvent(t, c, 20*time.Millisecond)
		// Drain everything; the write completes with all its bytes.
		got := make([]byte, 0, len(data))
		tmp := make([]byte, 1<<16)
		deadline := time.Now().Add(10 * time.Second)
		drained := 0
		var ev [1]kaio.Event
		done := false
		for !done && time.Now().Before(deadline) {
			n, _ := unix.Read(r, tmp)
			if n > 0 {
				if drained < 1<<30 && drained < len(fill)*64 {
					// bytes of the fill come first
				}
				got = append(got, tmp[:n]...)
			}
			if k, _ := c.GetEvents(0, ev[:], 0); k == 1 {
				done = true
			}
		}
		if !done || ev[0].Res != int64(len(data)) {
			t.Fatalf("blocked pipe write: done %v event %+v", done, ev[0])
		}
		for {
			n, _ := unix.Read(r, tmp)
			if n <= 0 {
				break
			}
			got = append(got, tmp[:n]...)
		}
		tail := got[len(got)-len(data):]
		sameBytes(t, "pipe write", tail, data)
	}},
	{"Pipe/EOF", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, w := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: r, Buf: make([]byte, 10)})
		noEvent(t, c, 10*time.Millisecond)
		unix.Close(w)
		if ev := reap(t, c, 1)[0]; ev.Res != 0 {
			t.Fatalf("read at pipe EOF: %+v", ev)
		}
	}},
	{"Pipe/BlockingFd", func(t *testing.T, e *Env) {
		// A pipe without O_NONBLOCK (see the engine docs for what is
		// supported): the read still waits without holding up Submit.
		c := e.Setup(4)
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(p[0])
		defer unix.Close(p[1])
		buf := make([]byte, 3)
		done := make(chan struct{})
		go func() {
			defer close(done)
			submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: p[0], Buf: buf})
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Submit blocked on a blocking pipe")
		}
		unix.Write(p[1], []byte("abc"))
		if ev := reap(t, c, 1)[0]; ev.Res != 3 || string(buf) != "abc" {
			t.Fatalf("blocking pipe read %+v %q", ev, buf)
		}
	}},
	{"Tty/BlockingRead", func(t *testing.T, e *Env) {
		// A pty master without O_NONBLOCK: Linux refuses RWF_NOWAIT on
		// ttys, so this is the blocking-fd case at its hardest. A waiting
		// read must still be cancellable and must not hold up Destroy.
		master, slave := pty(t)
		c, err := kaio.Setup(4, e.Opts...)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: master, Buf: buf})
		var ev [1]kaio.Event
		if n, _ := c.GetEvents(1, ev[:], 20*time.Millisecond); n == 1 {
			if c.Engine() == kaio.EngineNative && errors.Is(ev[0].Err(), unix.EINVAL) {
				c.Destroy()
				t.Skip("Linux AIO's IOCB_CMD_POLL refuses files with two wait queues, as ttys have (aio_poll_queue_proc)")
			}
			t.Fatalf("a read of an empty pty completed: %+v", ev[0])
		}
		unix.Write(slave, []byte("hi\n"))
		if ev := reap(t, c, 1)[0]; ev.Res <= 0 || buf[0] != 'h' {
			t.Fatalf("pty read %+v %q", ev, buf)
		}
		io := &kaio.Iocb{Op: kaio.OpPRead, Fd: master, Buf: buf}
		submit(t, c, io)
		noEvent(t, c, 20*time.Millisecond)
		switch err := c.Cancel(io); {
		case err == nil:
			if ev := reap(t, c, 1)[0]; !errors.Is(ev.Err(), unix.ECANCELED) && ev.Res <= 0 {
				t.Fatalf("cancelled pty read: %+v", ev)
			}
		case errors.Is(err, unix.EAGAIN):
			unix.Write(slave, []byte("x\n"))
			reap(t, c, 1)
		default:
			t.Fatalf("Cancel of a waiting pty read: %v", err)
		}
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: master, Buf: make([]byte, 8)})
		noEvent(t, c, 10*time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- c.Destroy() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			unix.Write(slave, []byte("unblock\n"))
			<-done
			t.Fatal("Destroy waited for data on a blocking pty")
		}
	}},
	{"Socket/PingPong", func(t *testing.T, e *Env) {
		c := e.Setup(8)
		s, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(s[0])
		defer unix.Close(s[1])
		for i := 0; i < 20; i++ {
			in := make([]byte, 4)
			msg := []byte{byte(i), 1, 2, 3}
			submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: s[1], Buf: in, Data: 1})
			submit(t, c, &kaio.Iocb{Op: kaio.OpPWrite, Fd: s[0], Buf: msg, Data: 2})
			for _, ev := range reap(t, c, 2) {
				if ev.Res != 4 {
					t.Fatalf("round %d: %+v", i, ev)
				}
			}
			sameBytes(t, "socket", in, msg)
		}
	}},
	{"Poll/Readable", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, w := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPoll, Fd: r, Events: unix.POLLIN, Data: 9})
		noEvent(t, c, 20*time.Millisecond)
		unix.Write(w, []byte{1})
		ev := reap(t, c, 1)[0]
		if ev.Res&unix.POLLIN == 0 || ev.Data != 9 {
			t.Fatalf("poll event %+v, want POLLIN", ev)
		}
	}},
	{"Poll/AlreadyReadyAndHangup", func(t *testing.T, e *Env) {
		c := e.Setup(4)
		r, w := pipe(t)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPoll, Fd: w, Events: unix.POLLOUT})
		if ev := reap(t, c, 1)[0]; ev.Res&unix.POLLOUT == 0 {
			t.Fatalf("poll of a writable pipe: %+v", ev)
		}
		submit(t, c, &kaio.Iocb{Op: kaio.OpPoll, Fd: r, Events: unix.POLLIN})
		noEvent(t, c, 10*time.Millisecond)
		unix.Close(w)
		if ev := reap(t, c, 1)[0]; ev.Res&unix.POLLHUP == 0 {
			t.Fatalf("poll after the writer closed: %+v, want POLLHUP", ev)
		}
	}},
	{"Poll/Eventfd", func(t *testing.T, e *Env) {
		eventfdsAgree(t)
		c := e.Setup(4)
		efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(efd)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPoll, Fd: efd, Events: unix.POLLIN})
		b := make([]byte, 8)
		submit(t, c, &kaio.Iocb{Op: kaio.OpPRead, Fd: efd, Buf: b})
		noEvent(t, c, 10*time.Millisecond)
		unix.Write(efd, []byte{3, 0, 0, 0, 0, 0, 0, 0})
		evs := reap(t, c, 2)
		for _, ev := range evs {
			if ev.Obj.Op == kaio.OpPRead && (ev.Res != 8 || b[0] != 3) {
				t.Fatalf("eventfd read %+v %v", ev, b)
			}
		}
	}},
}

// pty opens a pseudo-terminal pair, the master without O_NONBLOCK, or skips.
func pty(t *testing.T) (master, slave int) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { unix.Close(m) })
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := unix.Open("/dev/pts/"+strconv.Itoa(int(n)), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("open the pty slave: %v", err)
	}
	t.Cleanup(func() { unix.Close(s) })
	return m, s
}
