//go:build linux

package kickrace

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kaio-go/kaio/internal/explore"
	"github.com/kaio-go/kaio/internal/lock"
)

// Names and labels that need escaping, in the fixture below.
const (
	oddName  = `odd <name> & "q"`
	oddGroup = `g<&>`
	oddLabel = `label with <tags> & 'quotes' "too"`
	oddMsg   = `the request ran after it completed & was cancelled: <freed>`
)

// fixture is a schedule of six goroutines in four groups, found by the
// explorer: a submitter queues a request, a waker wakes the kick worker
// through a note, a canceller, a "kernel" and an oddly named goroutine
// each do one thing, and the worker fails the schedule ("1a") while it
// holds ctx_lock if all of them ran before it. The canceller also wakes a
// note nobody sleeps on: no arrow can be drawn for it.
func fixture(x *explore.Run) {
	var ctx, q1 lock.Mutex
	var worker, idle lock.Note
	for _, m := range []*lock.Mutex{&ctx, &q1} {
		m.SetSched(x)
	}
	for _, n := range []*lock.Note{&worker, &idle} {
		n.Init()
		n.SetSched(x)
	}
	x.Name(&ctx, "ctx_lock")
	x.Name(&q1, "q1.lock")
	x.Name(&worker, "the kick worker")
	x.Name(&idle, "io_destroy")
	var queued, cancelled, completed, odd bool
	x.Go("submit", "runner", false, func() {
		ctx.Lock()
		x.Yield("queue the request")
		queued = true
		ctx.Unlock()
	})
	x.Go("cancel", "waker", false, func() {
		ctx.Lock()
		x.Yield("kiocbSetCancelled(iocb)")
		cancelled = true
		ctx.Unlock()
		idle.Wakeup()
	})
	x.Go("kernel", "kernel", false, func() {
		x.Yield("complete the I/O")
		completed = true
	})
	x.Go(oddName, oddGroup, false, func() {
		x.Yield(oddLabel)
		x.Note("→ <noted>")
		odd = true
	})
	x.Go("worker", "runner", true, func() {
		for {
			worker.Sleep()
			ctx.Lock()
			x.Yield("run the request")
			if cancelled && completed && odd {
				x.Fail("1a", oddMsg)
			}
			ctx.Unlock()
		}
	})
	x.Go("waker1", "waker", true, func() {
		x.WaitUntil("event on q1", func() bool { return queued })
		q1.Lock()
		x.Yield("list_del_init(&wait->task_list)")
		q1.Unlock()
		worker.Wakeup()
	})
}

func fixtureFailure(t *testing.T) *explore.Failure {
	t.Helper()
	r := explore.Explore(fixture, explore.Options{Preemptions: 0})
	f := r.Shortest["1a"]
	if f == nil {
		t.Fatalf("the fixture did not fail: %v", r.Kinds())
	}
	return f
}

// node is any element of a parsed SVG.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []*node    `xml:",any"`
	Text    string     `xml:",chardata"`
}

func parseSVG(t *testing.T, b []byte) *node {
	t.Helper()
	var root node
	if err := xml.Unmarshal(b, &root); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b)
	}
	if root.XMLName.Local != "svg" || root.XMLName.Space != "http://www.w3.org/2000/svg" || root.attr("version") != "1.1" {
		t.Fatalf("root is %v version %q, want SVG 1.1", root.XMLName, root.attr("version"))
	}
	return &root
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *node) hasClass(c string) bool { return slices.Contains(strings.Fields(n.attr("class")), c) }

// all returns the elements under n (n included) for which ok holds, in
// document order.
func (n *node) all(ok func(*node) bool) []*node {
	var out []*node
	if ok(n) {
		out = append(out, n)
	}
	for _, c := range n.Nodes {
		out = append(out, c.all(ok)...)
	}
	return out
}

func (n *node) class(c string) []*node { return n.all(func(m *node) bool { return m.hasClass(c) }) }

// text is n's text with its children's.
func (n *node) text() string {
	s := n.Text
	for _, c := range n.Nodes {
		if c.XMLName.Local != "title" {
			s += c.text()
		}
	}
	return s
}

// title is the text of n's title child.
func (n *node) title() string {
	for _, c := range n.Nodes {
		if c.XMLName.Local == "title" {
			return c.Text
		}
	}
	return ""
}

var stepID = regexp.MustCompile(`^panel(\d+)-step(\d+)$`)

// steps maps each step group of panel p to its step number and lane name.
func steps(t *testing.T, p *node) (lanes []string, laneOf map[int]string, labelY map[int]int) {
	t.Helper()
	laneOf, labelY = map[int]string{}, map[int]int{}
	for _, ln := range p.class("lane") {
		names := ln.class("lane-name")
		if len(names) != 1 {
			t.Fatalf("a lane has %d names", len(names))
		}
		name := names[0].text()
		lanes = append(lanes, name)
		for _, s := range ln.class("step") {
			m := stepID.FindStringSubmatch(s.attr("id"))
			if m == nil {
				t.Fatalf("step id %q", s.attr("id"))
			}
			n, _ := strconv.Atoi(m[2])
			if _, dup := laneOf[n]; dup {
				t.Fatalf("step %d drawn twice", n)
			}
			laneOf[n] = name
			labels := s.class("label")
			if len(labels) != 1 {
				t.Fatalf("step %d has %d labels", n, len(labels))
			}
			labelY[n], _ = strconv.Atoi(labels[0].attr("y"))
		}
	}
	return lanes, laneOf, labelY
}

// TestSVGStructure: the picture of a schedule has a lane per goroutine of
// the trace, grouped waker side first, a row per step in the lane of the
// goroutine that ran it, lock holds in their goroutine's lane, the wake-up
// whose sleeper the trace shows as an arrow to it, the last step marked
// with the invariant's name, and every text escaped so that it reads back
// as it was.
func TestSVGStructure(t *testing.T) {
	f := fixtureFailure(t)
	var b bytes.Buffer
	if err := WriteSVG(&b, []SVGPanel{{Failure: f, Protocol: "proto<1>", Scenario: "fixture"}}); err != nil {
		t.Fatal(err)
	}
	root := parseSVG(t, b.Bytes())
	// Self-contained: nothing to fetch or run.
	for _, n := range root.all(func(*node) bool { return true }) {
		switch n.XMLName.Local {
		case "script", "style", "image", "foreignObject", "use", "a":
			t.Errorf("element <%s>", n.XMLName.Local)
		}
		for _, a := range n.Attrs {
			if a.Name.Local == "href" || strings.Contains(a.Value, "url(") || strings.HasPrefix(a.Name.Local, "on") {
				t.Errorf("<%s %s=%q>", n.XMLName.Local, a.Name.Local, a.Value)
			}
		}
	}
	panels := root.class("panel")
	if len(panels) != 1 {
		t.Fatalf("%d panels, want 1", len(panels))
	}
	p := panels[0]

	lanes, laneOf, labelY := steps(t, p)
	want := []string{"cancel", "waker1", "submit", "worker", "kernel", oddName}
	if !slices.Equal(lanes, want) {
		t.Errorf("lanes %q, want %q (waker group, runner group, then the others)", lanes, want)
	}
	if len(laneOf) != len(f.Trace) {
		t.Errorf("%d steps drawn, trace has %d", len(laneOf), len(f.Trace))
	}
	for i, s := range f.Trace {
		n := i + 1
		if laneOf[n] != s.Name {
			t.Errorf("step %d (%s: %s) drawn in lane %q", n, s.Name, s.Label, laneOf[n])
		}
		if labelY[n]-labelY[1] != i*rowH {
			t.Errorf("step %d at y %d, step 1 at %d: not row %d", n, labelY[n], labelY[1], n)
		}
	}

	// The failing step: the last, and only it.
	failing := p.class("failing")
	if len(failing) != 1 || failing[0].attr("id") != "panel1-step"+strconv.Itoa(len(f.Trace)) {
		t.Fatalf("failing steps %d, want step %d only", len(failing), len(f.Trace))
	}
	marks := failing[0].class("mark")
	if len(marks) != 1 || marks[0].text() != "✗ 1a" {
		t.Errorf("the failing step's mark is %v, want ✗ 1a", marks)
	}
	verdicts := p.class("verdict")
	if len(verdicts) != 1 {
		t.Fatalf("%d verdicts", len(verdicts))
	}
	var lines []string
	for _, n := range verdicts[0].all(func(n *node) bool { return n.XMLName.Local == "text" }) {
		lines = append(lines, n.text())
	}
	v := strings.Join(lines, " ")
	if !strings.Contains(v, Races["1a"]) || !strings.Contains(v, "=> "+oddMsg) || !strings.Contains(v, "step "+strconv.Itoa(len(f.Trace))) {
		t.Errorf("verdict %q lacks the step, the invariant %q or the message", v, Races["1a"])
	}

	// Escaped text reads back whole; none of it is markup.
	for _, s := range []string{oddName, oddLabel + " → <noted>", oddGroup, "proto<1>"} {
		if !slices.ContainsFunc(p.all(func(*node) bool { return true }), func(n *node) bool { return strings.Contains(n.text(), s) }) {
			t.Errorf("text %q not found", s)
		}
	}
	if bytes.Contains(b.Bytes(), []byte("<tags>")) || bytes.Contains(b.Bytes(), []byte("<name>")) {
		t.Error("unescaped text in the document")
	}

	// Lock holds: one per Lock step, in the lane of the goroutine that
	// took it; the worker's ctx_lock is still held at the failing step.
	locks := 0
	for _, s := range f.Trace {
		if s.Kind == explore.KindLock {
			locks++
		}
	}
	holds := 0
	for _, ln := range p.class("lane") {
		name := ln.class("lane-name")[0].text()
		for _, h := range ln.class("hold") {
			holds++
			if !strings.HasPrefix(h.title(), name+" holds ") {
				t.Errorf("hold %q in lane %q", h.title(), name)
			}
		}
	}
	if holds != locks {
		t.Errorf("%d holds drawn, %d Lock steps", holds, locks)
	}
	if !slices.ContainsFunc(p.class("hold"), func(n *node) bool {
		return strings.HasPrefix(n.title(), "worker holds ctx_lock, from step") && strings.Contains(n.title(), "still held")
	}) {
		t.Error("the worker's ctx_lock is not drawn as still held")
	}

	// Wake-ups: the kick worker's note has a sleeper in the trace;
	// io_destroy's has none, so it gets no arrow.
	var wakes []string
	for _, w := range p.class("wake") {
		wakes = append(wakes, w.title())
	}
	wantWake := ""
	for i, s := range f.Trace {
		if s.Kind == explore.KindWakeup && s.Label == "wake the kick worker" {
			wantWake = "step " + strconv.Itoa(i+1) + ": waker1 wakes worker"
		}
	}
	if len(wakes) != 1 || wakes[0] != wantWake {
		t.Errorf("wake arrows %q, want [%q]", wakes, wantWake)
	}
}

// TestSVGEmptyTrace: a failure before any step (setup failed) still draws.
func TestSVGEmptyTrace(t *testing.T) {
	var b bytes.Buffer
	f := &explore.Failure{Kind: "panic", Msg: "setup: \x00 bad <x>"}
	if err := WriteSVG(&b, []SVGPanel{{Failure: f, Protocol: "rc3", Scenario: "s"}}); err != nil {
		t.Fatal(err)
	}
	root := parseSVG(t, b.Bytes())
	if n := len(root.class("lane")) + len(root.class("step")); n != 0 {
		t.Errorf("%d lanes and steps for no step", n)
	}
	v := root.class("verdict")
	if len(v) != 1 || !strings.Contains(v[0].text(), "=> setup: \ufffd bad <x>") {
		t.Errorf("verdict %v", v)
	}
}

// TestSVGMain: Main with Config.SVG draws rc3's shortest failing schedule
// of each kind, one panel per kind in the report's order; a run where no
// schedule fails writes no file; an unwritable path is an error naming
// -svg.
func TestSVGMain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rc3.svg")
	var out bytes.Buffer
	failed, err := Main(Config{Protocol: "rc3", Scenario: "complete", SVG: path, Options: explore.Options{Preemptions: 2}}, &out)
	if err != nil || !failed {
		t.Fatalf("rc3: failed %v, err %v", failed, err)
	}
	if !strings.Contains(out.String(), "drawn in "+path) {
		t.Errorf("the report does not say where the picture is:\n%s", out.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	root := parseSVG(t, b)
	var kinds []string
	for _, p := range root.class("panel") {
		kinds = append(kinds, p.title())
		_, laneOf, _ := steps(t, p)
		failing := p.class("failing")
		if len(failing) != 1 || failing[0].attr("id") != p.attr("id")+"-step"+strconv.Itoa(len(laneOf)) {
			t.Errorf("panel %s: the failing step is not the last of %d", p.title(), len(laneOf))
		}
		if m := p.class("mark"); len(m) != 1 || m[0].text() != "✗ "+p.title() {
			t.Errorf("panel %s: marks %v", p.title(), m)
		}
		// Each panel's title is the heading Main prints for its kind.
		if !strings.Contains(out.String(), "\n"+Races[p.title()]+"\n") {
			t.Errorf("panel %s: its race is not in the report", p.title())
		}
	}
	if len(kinds) < 2 || !slices.IsSorted(kinds) || !slices.Contains(kinds, "1a") || !slices.Contains(kinds, "2") {
		t.Errorf("panels %q, want (1a) and (2) at least, in the report's order", kinds)
	}

	quiet := filepath.Join(dir, "kaio.svg")
	out.Reset()
	failed, err = Main(Config{Protocol: "kaio", Scenario: "complete", SVG: quiet, Options: explore.Options{Preemptions: 1}}, &out)
	if err != nil || failed {
		t.Fatalf("kaio: failed %v, err %v", failed, err)
	}
	if _, err := os.Stat(quiet); !os.IsNotExist(err) {
		t.Errorf("kaio passed but %s exists (%v)", quiet, err)
	}
	if !strings.Contains(out.String(), quiet+" not written") {
		t.Errorf("the report does not say the picture was not written:\n%s", out.String())
	}

	bad := filepath.Join(dir, "no-such-dir", "x.svg")
	_, err = Main(Config{Protocol: "rc3", Scenario: "sync", SVG: bad, Options: explore.Options{Preemptions: 2}}, &out)
	if err == nil || err.Error() != `-svg "`+bad+`": no such file or directory` {
		t.Errorf("unwritable -svg: %v", err)
	}
}

// FuzzSVG: any names, labels and messages make a document that parses,
// with the right number of lanes and steps, and the texts read back.
func FuzzSVG(f *testing.F) {
	f.Add("submit", "runner", "lock ctx_lock", "waker", "waker", "kiocbTryKick(iocb)", "1a", "freed")
	f.Add(oddName, oddGroup, oddLabel, "a]]>b", "", "\x00\x01\ufffe", "k<", "m&amp;")
	f.Add("", "", "", "x", "x", strings.Repeat("long ", 40), "", "")
	f.Fuzz(func(t *testing.T, name1, group1, label1, name2, group2, label2, kind, msg string) {
		fl := &explore.Failure{Kind: kind, Msg: msg, Steps: 3, Trace: []explore.Step{
			{Thread: 0, Name: name1, Group: group1, Label: label1, Kind: explore.KindYield},
			{Thread: 1, Name: name2, Group: group2, Label: "lock " + label2, Kind: explore.KindLock, Func: "kickrace.(*kioctx).Submit"},
			{Thread: 0, Name: name1, Group: group1, Label: "wake " + label2, Kind: explore.KindWakeup, Notes: []string{label1}},
		}}
		var b bytes.Buffer
		if err := WriteSVG(&b, []SVGPanel{{Failure: fl, Protocol: name2, Scenario: label1}}); err != nil {
			t.Fatal(err)
		}
		root := parseSVG(t, b.Bytes())
		lanes, laneOf, _ := steps(t, root)
		if len(lanes) != 2 || len(laneOf) != 3 || laneOf[1] != laneOf[3] {
			t.Fatalf("lanes %q, steps %v", lanes, laneOf)
		}
		if len(root.class("failing")) != 1 || len(root.class("hold")) != 1 {
			t.Fatal("want one failing step and one hold")
		}
		// Titles carry the whole text; text that XML can hold reads back.
		if clean(name1) && clean(label1) {
			step1 := root.all(func(n *node) bool { return n.attr("id") == "panel1-step1" })
			if got, want := step1[0].title(), "step 1, "+name1+": "+label1; got != want {
				t.Errorf("step 1's title %q, want %q", got, want)
			}
		}
	})
}

// clean: s is UTF-8 that XML 1.0 can hold (else xml.EscapeText replaces
// what it cannot with U+FFFD).
func clean(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r == 0x09 || r == 0x0A || r == 0x0D ||
			r >= 0x20 && r <= 0xD7FF ||
			r >= 0xE000 && r <= 0xFFFD ||
			r >= 0x10000 && r <= 0x10FFFF)
	})
}
