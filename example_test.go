//go:build linux

package kaio_test

import (
	"fmt"
	"os"
	"time"

	"github.com/kaio-go/kaio"
)

func Example() {
	f, err := os.CreateTemp("", "kaio-example")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()

	ctx, err := kaio.Setup(8, kaio.WithEngine(kaio.EngineRetry))
	if err != nil {
		panic(err)
	}
	defer ctx.Destroy()

	msg := []byte("hello, kaio")
	back := make([]byte, len(msg))
	if _, err := ctx.Submit(&kaio.Iocb{Op: kaio.OpPWrite, Fd: int(f.Fd()), Buf: msg, Data: 1}); err != nil {
		panic(err)
	}
	events := make([]kaio.Event, 8)
	n, _ := ctx.GetEvents(1, events, time.Second)
	fmt.Println(n, events[0].Data, events[0].Res)

	ev := ctx.Do(&kaio.Iocb{Op: kaio.OpPRead, Fd: int(f.Fd()), Buf: back})
	fmt.Println(ev.Res, string(back))
	// Output:
	// 1 1 11
	// 11 hello, kaio
}

// Registered buffers: the io units' memory handed to the kernel once. On
// the uring engine the reads below go as IORING_OP_READ_FIXED; on the
// others the registration is accepted and changes nothing.
func ExampleContext_RegisterBuffers() {
	f, err := os.CreateTemp("", "kaio-example")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	f.WriteString("0123456789abcdef")

	ctx, err := kaio.Setup(4) // auto: uring where it works, else retry
	if err != nil {
		panic(err)
	}
	defer ctx.Destroy()

	arena := make([]byte, 16)
	if err := ctx.RegisterBuffers(arena); err != nil {
		fmt.Println("not registered:", err) // e.g. ENOMEM under a small RLIMIT_MEMLOCK; I/O still works
	}
	lo := &kaio.Iocb{Op: kaio.OpPRead, Fd: int(f.Fd()), Buf: arena[:8], Offset: 8}
	hi := &kaio.Iocb{Op: kaio.OpPRead, Fd: int(f.Fd()), Buf: arena[8:], Offset: 0}
	if _, err := ctx.Submit(lo, hi); err != nil {
		panic(err)
	}
	evs := make([]kaio.Event, 2)
	if _, err := ctx.GetEvents(2, evs, time.Second); err != nil {
		panic(err)
	}
	fmt.Println(string(arena))
	// Output: 89abcdef01234567
}
