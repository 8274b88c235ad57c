//go:build linux

package stress

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// output is stderr shared by the threads and the progress line. The
// classic's stderr is unbuffered, so each line is written at once, whole.
type output struct {
	mu       sync.Mutex // guards w, shown
	w        io.Writer
	shown    bool // a progress line is on the terminal, to be erased first
	progress bool
}

// clearLine erases the progress line: carriage return, erase to end of line.
const clearLine = "\r\x1b[K"

func (o *output) printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.shown {
		io.WriteString(o.w, clearLine)
		o.shown = false
	}
	io.WriteString(o.w, s)
}

// progressLine overwrites the progress line. Only used on a terminal.
func (o *output) progressLine(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	io.WriteString(o.w, clearLine+s)
	o.shown = true
}

func (o *output) endProgress() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.shown {
		io.WriteString(o.w, clearLine)
		o.shown = false
	}
}

// progress prints, once a second while a stage runs longer than a second,
// how far it is: the bytes completed by all threads, of the bytes the stage
// will do, and the rate so far.
type progress struct {
	out   *output
	done  []*atomic.Int64 // per thread, bytes completed in this stage
	stop  chan struct{}
	wg    sync.WaitGroup
	stage atomic.Pointer[stageInfo]
}

type stageInfo struct {
	name  string
	total int64
	start time.Time
}

func startProgress(out *output, threads []*thread) *progress {
	p := &progress{out: out, stop: make(chan struct{})}
	for _, t := range threads {
		p.done = append(p.done, &t.doneBytes)
	}
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer p.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-tick.C:
			si := p.stage.Load()
			if si == nil || now.Sub(si.start) < 900*time.Millisecond {
				continue
			}
			var done int64
			for _, d := range p.done {
				done += d.Load()
			}
			secs := now.Sub(si.start).Seconds()
			p.out.progressLine(fmt.Sprintf("[%s: %.2f of %.2f MB, %.2f MB/s, %.0fs]",
				si.name, float64(done)/float64(mib), float64(si.total)/float64(mib),
				float64(done)/float64(mib)/secs, secs))
		}
	}
}

func (p *progress) close() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.out.endProgress()
}
