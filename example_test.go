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
