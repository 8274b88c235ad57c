package kaio_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
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

// Files: an os.File look-alike that many goroutines may read at once;
// their reads share one ring, and a read of cached data completes on the
// calling goroutine.
func ExampleOpenFile() {
	dir, err := os.MkdirTemp("", "kaio-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "data")

	f, err := kaio.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	for i := 0; i < 4; i++ {
		if _, err := f.WriteAt([]byte(fmt.Sprintf("block %d;", i)), int64(8*i)); err != nil {
			panic(err)
		}
	}

	var wg sync.WaitGroup
	got := make([]string, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 8)
			if _, err := f.ReadAt(buf, int64(8*i)); err != nil {
				panic(err)
			}
			got[i] = string(buf)
		}()
	}
	wg.Wait()
	fmt.Println(got)

	_, err = f.ReadAt(make([]byte, 10), 28) // 4 bytes are left there
	fmt.Println(err == io.EOF)
	// Output:
	// [block 0; block 1; block 2; block 3;]
	// true
}
