//go:build linux

package stress

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/kaio-go/kaio"
	"golang.org/x/sys/unix"
)

// ioUnit is one iocb with its buffer (the classic's struct io_unit). Its
// index in thread.ios is its Iocb.Data, so a completion finds it without a
// map.
type ioUnit struct {
	iocb  kaio.Iocb
	oper  *oper
	buf   []byte // the record
	start int64  // ns since the run began: when Submit accepted it
	next  *ioUnit
}

// thread is one of the classic's threads: a kaio context, its opers, and
// depth io units per oper. Only its own goroutine touches it, except at the
// stage barriers, where the last thread to arrive reads every thread.
type thread struct {
	id  int
	g   *group
	ctx *kaio.Context

	ios        []ioUnit
	free       *ioUnit
	iocbs      []*kaio.Iocb // built for one Submit, max_io_submit long
	events     []kaio.Event // reaped at once, one per io unit
	numPending int
	numFiles   int // opers of this thread

	active, finished *oper
	scratch          []*oper // the finished list, snapshotted between stages

	// Per stage.
	stageStart    time.Time
	stageMB       float64
	stageBytes    int64
	stageIOs      int64
	stageErrs     int
	stageVerify   int
	ioFirst       time.Time // first build of any oper
	ioLast        time.Time // last oper's last completion
	submitLat     *latency
	completionLat *latency
	doneBytes     atomic.Int64 // read by the progress line

	failed bool // a submit error: the run is aborted

	// While the thread waits for a stage's last completions, its lines
	// are held, and printed after the latency lines: the classic prints
	// its latencies before that wait, so the lines of the wait come
	// after them (see run).
	holding bool
	held    []string
}

// printf prints a line of this thread's opers, or holds it (see holding).
func (t *thread) printf(format string, args ...any) {
	if t.holding {
		t.held = append(t.held, fmt.Sprintf(format, args...))
		return
	}
	t.g.out.printf(format, args...)
}

func (t *thread) now() int64 { return int64(time.Since(t.g.base)) }

// run is the classic's worker(): stage after stage, run the active list
// until every oper has submitted its ios (or the thread is stonewalled),
// wait for them, fsync, and restart each oper in its next stage.
func (t *thread) run() {
	g := t.g
	cfg := g.cfg
	iters := cfg.Iterations
	for {
		if !g.startBarrier() {
			break
		}
		t.stageStart = time.Now()
		t.stageMB, t.stageBytes, t.stageIOs, t.stageErrs, t.stageVerify = 0, 0, 0, 0, 0
		t.ioFirst, t.ioLast = time.Time{}, time.Time{}
		t.submitLat.reset()
		t.completionLat.reset()
		t.doneBytes.Store(0)

		cnt := 0
		for t.active != nil && (iters == 0 || cnt < iters) {
			if g.aborted.Load() {
				break
			}
			if g.stonewall && g.ending.Load() {
				o := t.active
				o.stonewalled = true
				listDel(o, &t.active)
				listAdd(o, &t.finished)
			} else if err := t.runActiveList(); err != nil {
				t.failed = true
				g.abort()
				break
			}
			cnt++
		}
		if g.aborted.Load() {
			break
		}
		// -I cut the stage short. The classic leaves these opers' ios in
		// flight and never waits for them ("global num pending"); here
		// they are stonewalled: waited for, counted, and the run ends
		// after this stage.
		for t.active != nil {
			o := t.active
			o.stonewalled = true
			listDel(o, &t.active)
			listAdd(o, &t.finished)
			g.cut.Store(true)
		}

		// Wait for everything, then print the latencies: the classic
		// prints before this wait, so the last completions of a stage
		// are counted in the next one. The lines of the wait (the
		// "<stage> on <file>" of opers that finish in it, their io
		// errors) are held and printed after the latencies, in the
		// classic's order.
		t.scratch = t.scratch[:0]
		for o := t.finished; o != nil; {
			t.scratch = append(t.scratch, o)
			if o = o.next; o == t.finished {
				break
			}
		}
		t.holding = true
		for _, o := range t.scratch {
			t.operWait(o)
		}
		t.holding = false
		if cfg.SubmitLat {
			t.submitLat.print(g.out, "latency")
		}
		if cfg.CompletionLat {
			t.completionLat.print(g.out, "completion latency")
		}
		for i, s := range t.held {
			g.out.printf("%s", s)
			t.held[i] = ""
		}
		t.held = t.held[:0]

		// fsync for the timing of the next stage, and restart. The
		// classic walks the list while moving opers off it and may fsync
		// and count an oper twice; this walks a snapshot.
		stage := -1
		for _, o := range t.scratch {
			stage = o.rw
			if !cfg.NoFsync {
				unix.Fsync(o.fd)
			}
			t.stageBytes += operBytes(o)
			t.stageIOs += int64(o.startedIOs)
			if g.restart(o) {
				listDel(o, &t.finished)
				listAdd(o, &t.active)
			}
		}
		t.stageMB = float64(t.stageBytes) / float64(mib)
		switch secs := time.Since(t.stageStart).Seconds(); {
		case t.stageErrs > 0:
			// No throughput for ios that failed.
			g.out.printf("thread %d %s totals: %d ios failed, %.2f MB done in %.2fs\n",
				t.id, StageName(stage), t.stageErrs, t.stageMB, secs)
		case t.stageMB != 0 && t.numFiles > 0:
			g.out.printf("thread %d %s totals (%.2f MB/s) %.2f MB in %.2fs\n",
				t.id, StageName(stage), t.stageMB/secs, t.stageMB, secs)
		}
		if !g.endBarrier() {
			break
		}
	}
	if t.numPending > 0 && !g.aborted.Load() {
		g.out.printf("global num pending is %d\n", t.numPending)
	}
}

// operBytes is what o transferred in its stage: as the classic counts it,
// every io it started times the record size; but when some of them failed,
// the bytes that the others did transfer.
func operBytes(o *oper) int64 {
	if o.stageErrs > 0 {
		return o.stageBytes
	}
	return int64(o.startedIOs) * o.reclen
}

// runActiveList is the classic's run_active_list: build io_iter iocbs for
// each runnable oper in turn until max_io_submit would be passed, submit
// them at once, and move opers that have submitted all their ios to the
// finished list.
func (t *thread) runActiveList() error {
	g := t.g
	var built *oper
	n := 0
	o := t.active
	for o != nil {
		if !t.runnable(o) {
			if o = o.next; o == t.active {
				break
			}
			continue
		}
		k := t.buildOper(o, g.ioIter, t.iocbs[n:])
		if k < 0 {
			break
		}
		n += k
		listDel(o, &t.active)
		listAdd(o, &built)
		o = t.active
		if n+g.ioIter > g.maxIOSubmit {
			break
		}
	}
	if n > 0 {
		if err := t.runBuilt(t.iocbs[:n]); err != nil {
			g.out.printf("error %d on run_built\n", -1)
			return err
		}
	}
	for built != nil {
		o := built
		listDel(o, &built)
		listAdd(o, &t.active)
		if o.startedIOs == o.totalIOs {
			listDel(o, &t.active)
			listAdd(o, &t.finished)
		}
	}
	if n == 0 {
		// Nothing runnable: contexts waiting for the file to grow to
		// their start. The classic spins on fstat; reap one completion
		// if any is pending (the file grows as writes complete), else
		// let the thread that writes the file run.
		if t.numPending > 0 {
			t.reap(1, t.events[:1])
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
	return nil
}

// runnable is oper_runnable: in the sequential stages a context that does
// not start at 0 waits until the file has grown to its start.
func (t *thread) runnable(o *oper) bool {
	if o.startedIOs > 0 || o.start == 0 || o.rw >= StageRandomWrite {
		return true
	}
	var st unix.Stat_t
	if err := unix.Fstat(o.fd, &st); err != nil {
		return true // the I/O will report the error
	}
	return st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size >= o.start
}

// buildOper is build_oper: up to num iocbs for o into dst.
func (t *thread) buildOper(o *oper, num int, dst []*kaio.Iocb) int {
	if o.startedIOs == 0 {
		o.startTime = time.Now()
		if t.ioFirst.IsZero() {
			t.ioFirst = o.startTime
		}
	}
	if o.startedIOs+num > o.totalIOs {
		num = o.totalIOs - o.startedIOs
	}
	for i := 0; i < num; i++ {
		io := t.findIOU(o)
		if io == nil {
			t.g.out.printf("unable to find io unit\n")
			return -1
		}
		var off int64
		switch o.rw {
		case StageWrite, StageRead:
			off = o.lastOffset
			o.lastOffset += o.reclen
		default:
			off = o.randomOffset(&t.g.rnd, t.g.mask)
			o.lastOffset = off
		}
		io.iocb.Op = kaio.OpPRead
		if o.rw == StageWrite || o.rw == StageRandomWrite {
			io.iocb.Op = kaio.OpPWrite
		}
		io.iocb.Fd, io.iocb.Flags = o.fd, 0
		if o.fixed >= 0 {
			io.iocb.Fd, io.iocb.Flags = o.fixed, kaio.FlagFixedFile
		}
		io.iocb.Offset = off
		if t.g.cfg.onBuild != nil {
			t.g.cfg.onBuild(o.idx, o.rw, off)
		}
		dst[i] = &io.iocb
	}
	return num
}

// registerFiles registers the thread's files with its context, as fio's
// registerfiles does: Submit then checks them without a syscall. A
// refusal (no fd left for the context's duplicates) only costs that.
func (t *thread) registerFiles() {
	var opers []*oper
	for o := t.active; o != nil; {
		opers = append(opers, o)
		if o = o.next; o == t.active {
			break
		}
	}
	fds := make([]int, len(opers))
	for i, o := range opers {
		fds[i] = o.fd
	}
	if len(fds) == 0 || t.ctx.RegisterFiles(fds...) != nil {
		return
	}
	for i, o := range opers {
		o.fixed = i
	}
}

// findIOU takes a free io unit, reaping completions while there is none.
func (t *thread) findIOU(o *oper) *ioUnit {
	for t.free == nil {
		if t.readSomeEvents() <= 0 {
			t.g.out.printf("no free ious after read_some_events\n")
			return nil
		}
	}
	io := t.free
	t.free = io.next
	io.next = nil
	io.oper = o
	return io
}

// readSomeEvents reaps at least min(io_iter, pending) completions, and as
// many more as are ready.
func (t *thread) readSomeEvents() int {
	minNr := min(t.g.ioIter, t.numPending)
	return t.reap(minNr, t.events)
}

func (t *thread) reap(minNr int, events []kaio.Event) int {
	n, err := t.ctx.GetEvents(minNr, events, -1)
	if err != nil && n == 0 {
		t.g.out.printf("io_getevents: %v\n", err)
		return -1
	}
	now := t.now()
	for i := range events[:n] {
		e := &events[i]
		t.finishIO(&t.ios[e.Data], e.Res, now)
		e.Obj = nil
	}
	return n
}

// runBuilt submits iocbs, reaping and resubmitting the rest when the ring
// is full (the classic's run_built).
func (t *thread) runBuilt(iocbs []*kaio.Iocb) error {
	for {
		t0 := t.now()
		n, err := t.ctx.Submit(iocbs...)
		t1 := t.now()
		t.submitLat.record(t1 - t0)
		for _, cb := range iocbs[:n] {
			io := &t.ios[cb.Data]
			io.oper.numPending++
			io.oper.startedIOs++
			io.start = t1
		}
		t.numPending += n
		if n == len(iocbs) {
			return nil
		}
		iocbs = iocbs[n:]
		if n > 0 || errors.Is(err, unix.EAGAIN) {
			if t.readSomeEvents() > 0 {
				continue
			}
			t.g.out.printf("ret was %d and now is %d\n", n, errnoRet(err))
			t.submitWhy(err)
			return err
		}
		t.g.out.printf("ret %d (%s) on io_submit\n", errnoRet(err), strerror(err))
		t.submitWhy(err)
		return err
	}
}

// submitWhy follows the classic's line about a refused io_submit, which
// has only the errno, with kaio's, which says which iocb and why ("kaio:
// Submit: iocbs[0] refused: O_DIRECT buffer address 0x... not aligned to
// 4096 bytes (EINVAL)").
func (t *thread) submitWhy(err error) {
	var se *kaio.SubmitError
	if errors.As(err, &se) {
		t.g.out.printf("%v\n", se)
	}
}

// finishIO is finish_io: account a completion and free its io unit.
func (t *thread) finishIO(io *ioUnit, res int64, now int64) {
	t.completionLat.record(now - io.start)
	o := io.oper
	io.next = t.free
	t.free = io
	o.numPending--
	t.numPending--
	if res > 0 {
		t.doneBytes.Add(res)
		o.stageBytes += res
	}
	t.checkFinished(io, res)
	if o.numPending == 0 && (o.startedIOs == o.totalIOs || o.stonewalled) {
		t.printTime(o)
	}
}

// checkFinished is check_finished_io. A read that comes back short only
// because the file ends is not an error, as in the classic; unlike the
// classic, a failed or short write is one.
func (t *thread) checkFinished(io *ioUnit, res int64) {
	o := io.oper
	reading := o.rw == StageRead || o.rw == StageRandomRead
	if res != int64(len(io.buf)) {
		bad := !reading
		if reading {
			var st unix.Stat_t
			unix.Fstat(o.fd, &st)
			bad = st.Size > io.iocb.Offset+res
		}
		if bad {
			// The first failure of an oper in a stage is printed as
			// it happens; the others are counted, and its stage line
			// says how many there were (one file system out of space
			// is one line, not one per record).
			if o.stageErrs == 0 {
				t.printf("io err %d (%s) op %d, off %d size %d\n",
					res, resString(res), io.iocb.Op, io.iocb.Offset, len(io.buf))
			}
			o.lastErr = res
			o.numErr++
			o.stageErrs++
			t.stageErrs++
			return
		}
	}
	if reading && res > 0 && t.g.cfg.afterRead != nil {
		t.g.cfg.afterRead(io.buf[:res], io.iocb.Offset)
	}
	if t.g.cfg.Verify && o.rw == StageRead && !bytes.Equal(io.buf, t.g.verifyBuf) {
		t.verifyError(io)
	}
}

// verifyError prints the classic's report: every byte that differs as
// offset:bad:good.
func (t *thread) verifyError(io *ioUnit) {
	o := io.oper
	o.verifyErrs++
	t.stageVerify++
	var b bytes.Buffer
	fmt.Fprintf(&b, "verify error, file %s offset %d contents (offset:bad:good):\n", o.file, io.iocb.Offset)
	good := t.g.verifyBuf
	for i, c := range io.buf {
		if c != good[i] {
			fmt.Fprintf(&b, "%d:%c:%c ", i, c, good[i])
		}
	}
	b.WriteByte('\n')
	t.printf("%s", b.String())
}

// operWait is io_oper_wait: reap until o has nothing in flight.
func (t *thread) operWait(o *oper) {
	for o.numPending > 0 {
		if t.reap(1, t.events[:1]) <= 0 {
			break
		}
	}
	// A stonewalled oper whose last io had completed before it was cut
	// never gets its line in the classic.
	if !o.printed && o.startedIOs > 0 && o.numPending == 0 {
		t.printTime(o)
	}
}

// printTime is print_time: the oper's stage from its first build to its
// last completion, without the fsync.
func (t *thread) printTime(o *oper) {
	now := time.Now()
	o.printed = true
	if now.After(t.ioLast) {
		t.ioLast = now
	}
	secs := now.Sub(o.startTime).Seconds()
	mb := float64(operBytes(o)) / float64(mib)
	if o.stageErrs > 0 {
		// Instead of the classic's throughput (of every io started, as if
		// the failed ones had been done) and its "N errors on oper" line.
		t.printf("%s on %s: %d of %d ios failed (last %d, %s), %.2f MB done in %.2fs\n",
			StageName(o.rw), o.file, o.stageErrs, o.startedIOs, o.lastErr, resString(o.lastErr), mb, secs)
		return
	}
	t.printf("%s on %s (%.2f MB/s) %.2f MB in %.2fs\n", StageName(o.rw), o.file, mb/secs, mb, secs)
}

func errnoRet(err error) int {
	var e unix.Errno
	if errors.As(err, &e) {
		return -int(e)
	}
	return -1
}

func strerror(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		return capitalize(e.Error())
	}
	return err.Error()
}

// resString is strerror(-res) for a failed io, or what a short one did.
func resString(res int64) string {
	if res < 0 {
		return capitalize(unix.Errno(-res).Error())
	}
	return "short transfer"
}

// capitalize matches glibc's strerror ("Input/output error"), which Go's
// errno strings write in lower case.
func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
