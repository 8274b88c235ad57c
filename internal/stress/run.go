//go:build linux

package stress

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaio-go/kaio"
	"github.com/kaio-go/kaio/internal/glibcrand"
	"golang.org/x/sys/unix"
)

// Exit codes, as the classic's.
const (
	ExitOK    = 0
	ExitFail  = 1 // bad input, a file or buffer that cannot be had, io or verify errors
	ExitSetup = 3 // the engine cannot set up a context (the classic's io_queue_init failure)
)

// group is what the threads share: the configuration as adjusted, the
// rand() stream, the output, and the stage barriers.
type group struct {
	cfg         *Config
	out         *output
	stdout      io.Writer
	engine      kaio.Engine
	base        time.Time
	ioIter      int
	maxIOSubmit int
	mask        int64 // alignment - 1 (the classic's page_size_mask)
	stages      uint
	stonewall   bool
	rnd         lockedRand
	verifyBuf   []byte
	threads     []*thread
	prog        *progress

	ending  atomic.Bool // a thread has finished the stage: stonewall the rest
	cut     atomic.Bool // -I cut a stage short: end the run after it
	aborted atomic.Bool

	mu         sync.Mutex // guards the fields below
	cond       *sync.Cond
	count, gen int
	more       bool // decided at the end barrier: another stage follows
	stageStart time.Time
	stageName  string
	jsonErr    error
}

// Run runs cfg, writing what the classic writes to its stdout and stderr,
// and returns the exit code.
func Run(cfg Config, stdout, stderr io.Writer) int {
	out := &output{w: stderr}
	fail := func(format string, args ...any) int {
		out.printf("aio-stress: "+format+"\n", args...)
		return ExitFail
	}
	if err := cfg.validate(); err != nil {
		return fail("%v", err)
	}
	g := &group{
		cfg:       &cfg,
		out:       out,
		stdout:    stdout,
		base:      time.Now(),
		mask:      cfg.Align - 1,
		stages:    cfg.stageMask(),
		stonewall: !cfg.NoStonewall,
		rnd:       lockedRand{r: glibcrand.New(1)}, // rand() never seeded
	}
	g.cond = sync.NewCond(&g.mu)

	// The classic's adjustments, and the notes it prints for them.
	var notes []string
	nfiles := len(cfg.Files)
	nopers := nfiles * cfg.Contexts
	g.ioIter = cfg.IOIter
	if cfg.Depth < g.ioIter {
		g.ioIter = cfg.Depth
		notes = append(notes, fmt.Sprintf("dropping io_iter to %d", g.ioIter))
	}
	nthreads := cfg.Threads
	if nthreads > nopers {
		nthreads = nopers
		notes = append(notes, fmt.Sprintf("dropping thread count to the number of contexts %d", nthreads))
	}
	g.maxIOSubmit = cfg.MaxIOSubmit
	if g.maxIOSubmit == 0 {
		g.maxIOSubmit = nfiles * g.ioIter * cfg.Contexts
	}
	if g.maxIOSubmit < g.ioIter {
		g.ioIter = g.maxIOSubmit
		notes = append(notes, fmt.Sprintf("dropping io_iter to %d", g.ioIter))
	}
	first := StageWrite
	if len(cfg.Stages) > 0 {
		for s := 0; s < numStages; s++ {
			if g.stages&(1<<s) != 0 {
				first = s
				notes = append(notes, "starting with "+StageName(s))
				break
			}
		}
	}

	// Everything that can fail on bad input or a missing engine is done
	// before anything is printed, so that a failure is one line.
	threads := make([]*thread, nthreads)
	for i := range threads {
		threads[i] = &thread{id: i, g: g, submitLat: newLatency(), completionLat: newLatency()}
	}
	g.threads = threads
	var bufs *buffers
	defer func() {
		// Contexts first: Destroy waits for every request, and only then
		// may the buffers go.
		defer bufs.free()
		for _, t := range threads {
			if t.ctx != nil {
				t.ctx.Destroy()
			}
			for _, l := range []*oper{t.active, t.finished} {
				for o := l; o != nil; {
					unix.Close(o.fd)
					if o = o.next; o == l {
						break
					}
				}
			}
		}
	}()
	flags := unix.O_CREAT | unix.O_RDWR | unix.O_CLOEXEC
	if cfg.ODirect {
		flags |= unix.O_DIRECT
	}
	if cfg.OSync {
		flags |= unix.O_SYNC
	}
	openFds := 0
	for _, f := range cfg.Files {
		for j := 0; j < cfg.Contexts; j++ {
			t := threads[openFds%nthreads]
			openFds++
			fd, err := unix.Open(f, flags, 0o600)
			if err != nil {
				return fail("cannot open %s: %v", f, err)
			}
			start := int64(j) * cfg.ContextOffset
			end := cfg.FileSize - start
			o := &oper{idx: openFds - 1, fd: fd, fixed: -1, file: f, start: start, end: end, reclen: cfg.RecLen,
				rw: first, lastOffset: start, totalIOs: int(max(0, end-start) / cfg.RecLen)}
			if cfg.ODirect {
				if err := checkDirect(fd, cfg); err != nil {
					unix.Close(fd)
					return fail("%s: %v", f, err)
				}
			}
			listAdd(o, &t.active)
			t.numFiles++
		}
	}
	for _, t := range threads {
		nios := t.numFiles * cfg.Depth
		// With O_DIRECT every io of the retry engine blocks a worker for
		// the device's latency, so its workers are the queue depth the
		// device sees: give it one per io unit, as -d asks (the kernel
		// engines queue them all anyway). Buffered ios block only on
		// copies and locks, where threads beyond the cores only contend:
		// keep the engine's default.
		workers := 0
		if cfg.ODirect {
			workers = min(nios, 1024)
		}
		ctx, err := kaio.Setup(min(max(512, nios), 1<<16), kaio.WithEngine(cfg.Engine), kaio.WithWorkers(workers), kaio.WithDeferredWrites())
		if err != nil {
			return engineError(out, cfg.Engine, err)
		}
		t.ctx = ctx
	}
	g.engine = threads[0].ctx.Engine()
	pad := padded(cfg.RecLen, cfg.Align)
	bufs, err := allocBuffers(cfg.Mem, (int64(nopers)*int64(cfg.Depth)+1)*pad, cfg.Align)
	if err != nil {
		return fail("%v", err)
	}

	switch cfg.Mem {
	case MemSHM:
		out.printf("using ipc shm\n")
	case MemSHMFS:
		out.printf("using /dev/shm for buffers\n")
	}
	for _, s := range cfg.Stages {
		out.printf("adding stage %s\n", StageName(s))
	}
	for _, n := range notes {
		out.printf("%s\n", n)
	}
	for _, w := range spaceWarnings(&cfg, g.stages) {
		out.printf("aio-stress: warning: %s\n", w)
	}
	out.printf("file size %dMB, record size %dKB, depth %d, ios per iteration %d\n",
		cfg.FileSize/mib, cfg.RecLen/kib, cfg.Depth, g.ioIter)
	out.printf("max io_submit %d, buffer alignment set to %dKB\n", g.maxIOSubmit, cfg.Align/kib)
	onOff := "off"
	if cfg.Verify {
		onOff = "on"
	}
	out.printf("threads %d files %d contexts %d context offset %dMB verification %s\n",
		nthreads, nfiles, cfg.Contexts, cfg.ContextOffset/mib, onOff)
	out.printf("kaio engine %s\n", g.engine)

	var region []byte
	region, g.verifyBuf = cutBuffers(threads, bufs.aligned, &cfg, g.maxIOSubmit)
	// The io units' buffers live for the whole run: register them, as fio
	// does with fixedbufs (on uring each read and write then skips
	// get_user_pages; the other engines accept and ignore it). A refusal
	// (the locked-memory limit, more than 1 GiB) only costs that saving.
	if len(region) > 0 && len(region) <= 1<<30 {
		for _, t := range threads {
			t.ctx.RegisterBuffers(region)
		}
	}

	for _, t := range threads {
		t.registerFiles()
	}

	running := stdout
	if cfg.JSON {
		running = out.w
	}
	if nthreads > 1 {
		fmt.Fprintf(running, "Running multi thread version num_threads:%d\n", nthreads)
	} else {
		fmt.Fprintf(running, "Running single thread version \n")
	}
	if cfg.Progress {
		out.progress = true
		g.prog = startProgress(out, threads)
	}
	var wg sync.WaitGroup
	for _, t := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.run()
		}()
	}
	wg.Wait()
	g.prog.close()

	status := ExitOK
	for _, t := range threads {
		if t.failed {
			status = ExitFail
		}
		for _, l := range []*oper{t.active, t.finished} {
			for o := l; o != nil; {
				if o.numErr > 0 || o.verifyErrs > 0 {
					status = ExitFail
				}
				if o = o.next; o == l {
					break
				}
			}
		}
	}
	if g.jsonErr != nil {
		out.printf("aio-stress: writing JSON: %v\n", g.jsonErr)
		status = ExitFail
	}
	if cfg.Unlink {
		for _, f := range cfg.Files {
			fmt.Fprintf(running, "Cleaning up file %s \n", f)
			unix.Unlink(f)
		}
	}
	return status
}

// checkDirect refuses records, context offsets and alignments that O_DIRECT
// cannot do on this file, before the first io fails with EINVAL.
func checkDirect(fd int, cfg Config) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	bs := int64(512)
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		if n, err := unix.IoctlGetInt(fd, unix.BLKSSZGET); err == nil && n > 0 {
			bs = int64(n)
		}
	}
	switch {
	case cfg.RecLen%bs != 0:
		return fmt.Errorf("record size %d is not a multiple of %d, as O_DIRECT needs", cfg.RecLen, bs)
	case cfg.ContextOffset%bs != 0:
		return fmt.Errorf("context offset %d is not a multiple of %d, as O_DIRECT needs", cfg.ContextOffset, bs)
	case cfg.Align < bs:
		return fmt.Errorf("buffer alignment %d is below %d, as O_DIRECT needs", cfg.Align, bs)
	}
	return nil
}

// engineError is the one line for an engine that cannot set up a context:
// Probe's reason when it has one (e.g. "not built yet").
func engineError(out *output, e kaio.Engine, err error) int {
	reason := err.Error()
	var se *kaio.SetupError
	if errors.As(err, &se) {
		// It names the limit it hit already, as the probe would.
		out.printf("aio-stress: engine %s unavailable: %s\n", e, reason)
		return ExitSetup
	}
	for _, st := range kaio.Probe() {
		if st.Engine == e && !st.Usable && st.Reason != "" {
			reason = fmt.Sprintf("%s (%v)", st.Reason, err)
		}
	}
	out.printf("aio-stress: engine %s unavailable: %s\n", e, reason)
	return ExitSetup
}

// restart is restart_oper: move o to the next stage that was asked for, or
// say it is done (also after an error).
func (g *group) restart(o *oper) bool {
	if o.lastErr != 0 {
		return false
	}
	next := -1
	for s := o.rw + 1; s < numStages; s++ {
		if g.stages&(1<<s) != 0 {
			next = s
			break
		}
	}
	if next < 0 {
		return false
	}
	o.startedIOs = 0
	o.stageErrs, o.stageBytes = 0, 0
	o.lastOffset = o.start
	o.stonewalled = false
	o.printed = false
	o.rw = next
	return true
}

// barrier waits for every thread; the last to arrive runs last under the
// lock first. It returns false when the run was aborted.
func (g *group) barrier(last func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.aborted.Load() {
		return false
	}
	g.count++
	if g.count == len(g.threads) {
		g.count = 0
		g.gen++
		last()
		g.cond.Broadcast()
		return true
	}
	for gen := g.gen; gen == g.gen && !g.aborted.Load(); {
		g.cond.Wait()
	}
	return !g.aborted.Load()
}

func (g *group) abort() {
	g.mu.Lock()
	g.aborted.Store(true)
	g.cond.Broadcast()
	g.mu.Unlock()
}

// startBarrier starts a stage in every thread at once.
func (g *group) startBarrier() bool {
	return g.barrier(func() {
		g.ending.Store(false)
		g.stageStart = time.Now()
		var total int64
		g.stageName = ""
		for _, t := range g.threads {
			for o := t.active; o != nil; {
				if g.stageName == "" {
					g.stageName = StageName(o.rw)
				}
				total += int64(o.totalIOs) * o.reclen
				if o = o.next; o == t.active {
					break
				}
			}
		}
		if g.prog != nil {
			g.prog.stage.Store(&stageInfo{name: g.stageName, total: total, start: g.stageStart})
		}
	})
}

// endBarrier ends a stage: the first thread here stonewalls the others,
// the last prints the total over threads and the JSON result, and decides
// whether another stage follows.
func (g *group) endBarrier() bool {
	g.ending.Store(true)
	ok := g.barrier(func() {
		if g.prog != nil {
			g.prog.stage.Store(nil)
		}
		g.endStage()
		g.more = false
		if !g.cut.Load() {
			for _, t := range g.threads {
				g.more = g.more || t.active != nil
			}
		}
	})
	return ok && g.more
}

// endStage runs with every thread stopped at the end barrier.
func (g *group) endStage() {
	secs := time.Since(g.stageStart).Seconds()
	var totalMB float64
	minMB := -1.0
	r := StageResult{
		Stage:      g.stageName,
		Engine:     g.engine.String(),
		Threads:    len(g.threads),
		Files:      len(g.cfg.Files),
		Contexts:   g.cfg.Contexts,
		RecordSize: g.cfg.RecLen,
		Depth:      g.cfg.Depth,
		ODirect:    g.cfg.ODirect,
		OSync:      g.cfg.OSync,
		Seconds:    secs,
	}
	// Histograms are merged only for -json: merging walks every bucket.
	var sub, comp *latency
	if g.cfg.JSON {
		sub, comp = newLatency(), newLatency()
	}
	var first, last time.Time
	for _, t := range g.threads {
		totalMB += t.stageMB
		r.Bytes += t.stageBytes
		if t.numFiles > 0 && (minMB < 0 || t.stageMB < minMB) {
			minMB = t.stageMB
		}
		r.IOs += t.stageIOs
		r.Errors += t.stageErrs
		r.VerifyErrors += t.stageVerify
		if sub != nil {
			sub.merge(t.submitLat)
			comp.merge(t.completionLat)
		}
		if !t.ioFirst.IsZero() && (first.IsZero() || t.ioFirst.Before(first)) {
			first = t.ioFirst
		}
		if t.ioLast.After(last) {
			last = t.ioLast
		}
		for o := t.finished; o != nil; {
			r.Stonewalled = r.Stonewalled || o.stonewalled
			if o = o.next; o == t.finished {
				break
			}
		}
	}
	if len(g.threads) > 1 && r.Errors > 0 {
		// No throughput for ios that failed.
		g.out.printf("%s throughput: %d ios failed, %.2f MB done in %.2fs\n", g.stageName, r.Errors, totalMB, secs)
	} else if len(g.threads) > 1 && totalMB != 0 {
		line := fmt.Sprintf("%s throughput (%.2f MB/s) %.2f MB in %.2fs", g.stageName, totalMB/secs, totalMB, secs)
		if g.stonewall {
			// The classic takes the minimum of the last thread with
			// itself; this is the minimum over the threads.
			line += fmt.Sprintf(" min transfer %.2fMB", minMB)
		}
		g.out.printf("%s\n", line)
	}
	if !g.cfg.JSON {
		return
	}
	if !first.IsZero() && last.After(first) {
		r.IOSeconds = last.Sub(first).Seconds()
	}
	if r.Errors == 0 {
		r.MBps = float64(r.Bytes) / float64(mib) / secs
		r.IOPS = float64(r.IOs) / secs
		if r.IOSeconds > 0 {
			r.IOMBps = float64(r.Bytes) / float64(mib) / r.IOSeconds
		}
	}
	r.SubmitLatency = sub.summary()
	r.CompletionLatency = comp.summary()
	b, err := json.Marshal(r)
	if err == nil {
		_, err = g.stdout.Write(append(b, '\n'))
	}
	if err != nil && g.jsonErr == nil {
		g.jsonErr = err
	}
}

// StageResult is one stage of a run, as -json prints it (one object per
// line on stdout). MB is 2^20 bytes, as in the classic's lines.
type StageResult struct {
	Stage        string  `json:"stage"`
	Engine       string  `json:"engine"`
	Threads      int     `json:"threads"`
	Files        int     `json:"files"`
	Contexts     int     `json:"contexts"`
	RecordSize   int64   `json:"record_size"`
	Depth        int     `json:"depth"`
	ODirect      bool    `json:"o_direct"`
	OSync        bool    `json:"o_sync"`
	IOs          int64   `json:"ios"`           // submitted
	Bytes        int64   `json:"bytes"`         // IOs times the record size, as the classic counts; with Errors, what was transferred
	Seconds      float64 `json:"seconds"`       // stage start to end of every thread, fsync included (the "throughput"/"totals" lines)
	MBps         float64 `json:"mb_per_s"`      // Bytes over Seconds; 0 when some ios failed
	IOPS         float64 `json:"iops"`          // IOs over Seconds; 0 when some ios failed
	IOSeconds    float64 `json:"io_seconds"`    // first submission to last completion, no fsync (the "<stage> on <file>" lines)
	IOMBps       float64 `json:"io_mb_per_s"`   // Bytes over IOSeconds; 0 when some ios failed
	Errors       int     `json:"errors"`        // failed or short ios
	VerifyErrors int     `json:"verify_errors"` // records that failed -v
	Stonewalled  bool    `json:"stonewalled"`   // some oper was cut short (stonewall or -I)

	SubmitLatency     LatencySummary `json:"submit_latency"`     // per Submit call
	CompletionLatency LatencySummary `json:"completion_latency"` // per io, Submit to reap
}

// cutBuffers cuts mem into the io units: depth units per oper, thread by
// thread, then the verify pattern, as the classic's setup_ious. It
// returns the units' region and the pattern. Each unit is filled, with
// zeros unless verifying, as the classic's memset does: the pages are
// faulted in here, not in the first stage's timing.
func cutBuffers(threads []*thread, mem []byte, cfg *Config, maxIOSubmit int) (region, verifyBuf []byte) {
	all := mem
	pad := padded(cfg.RecLen, cfg.Align)
	fill := byte(0)
	if cfg.Verify {
		fill = 'b'
	}
	for _, t := range threads {
		n := t.numFiles * cfg.Depth
		t.ios = make([]ioUnit, n)
		for i := range t.ios {
			io := &t.ios[i]
			io.buf = mem[:cfg.RecLen:cfg.RecLen]
			mem = mem[pad:]
			for k := range io.buf {
				io.buf[k] = fill
			}
			io.iocb.Buf = io.buf
			io.iocb.Data = uint64(i)
			io.next = t.free
			t.free = io
		}
		t.iocbs = make([]*kaio.Iocb, maxIOSubmit)
		t.events = make([]kaio.Event, n)
		t.scratch = make([]*oper, 0, t.numFiles)
	}
	verifyBuf = mem[:cfg.RecLen]
	for k := range verifyBuf {
		verifyBuf[k] = 'b'
	}
	return all[:len(all)-len(mem)], verifyBuf
}
