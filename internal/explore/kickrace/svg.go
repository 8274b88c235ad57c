//go:build linux

package kickrace

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kaio-go/kaio/internal/explore"
)

// This file draws failing schedules as an SVG picture, the RFC's race
// drawings made from the explorer's trace: one lane per goroutine, waker
// side on the left and runner side on the right as PrintTrace's columns,
// one row per step, the locks each goroutine holds as tinted bands along
// its lane (so a waker touching the iocb outside ctx_lock shows as text
// outside a band), wake-ups of a note as arrows to the goroutine that
// sleeps on it, and the step that broke an invariant marked with the
// invariant's name and the failure message.
//
// The document is plain SVG 1.1 with presentation attributes only: no
// script, no style sheet, no font but the reader's own monospace, so that
// browsers, rsvg-convert and image viewers draw it alike. Its groups carry
// class names (panel, lane, lane-name, step, failing, mark, hold, wake,
// verdict) so that tests, and readers of the source, can find the parts.

// SVGPanel is one failing schedule to draw, with where it was found.
type SVGPanel struct {
	Failure  *explore.Failure
	Protocol string
	Scenario string
}

// WriteSVGFile draws panels into the file at path (see WriteSVG). The
// picture is made in memory first, so that nothing is written unless it is
// whole. An error is the errno of the failed call, without the path: the
// caller names the path in its own terms (a flag).
func WriteSVGFile(path string, panels []SVGPanel) error {
	var b bytes.Buffer
	if err := WriteSVG(&b, panels); err != nil {
		return err
	}
	err := os.WriteFile(path, b.Bytes(), 0o666)
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// WriteSVG writes panels one below the other as one SVG document.
func WriteSVG(w io.Writer, panels []SVGPanel) error {
	c := &canvas{lockColor: map[string]string{}}
	var ls []*panelLayout
	width, height := 0, 0
	for i, p := range panels {
		l := c.layout(p, i+1, height)
		ls = append(ls, l)
		width = max(width, l.width)
		height += l.height
	}
	c.printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	c.printf("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"%s\" font-size=\"%d\">\n",
		width, height, width, height, fontFamily, fontSize)
	var kinds []string
	for _, p := range panels {
		kinds = append(kinds, p.Failure.Kind)
	}
	c.printf("<title>aio-race: failing schedules (%s)</title>\n", esc(strings.Join(kinds, ", ")))
	c.printf("<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height)
	for _, l := range ls {
		c.draw(l)
	}
	c.printf("</svg>\n")
	_, err := w.Write(c.b.Bytes())
	return err
}

// Geometry, in pixels. Widths of text are estimated from its length in
// runes: the font is monospace, whose advance is about 0.6 em (DejaVu Sans
// Mono's is 0.602).
const (
	fontFamily = "DejaVu Sans Mono, Menlo, Consolas, monospace"
	fontSize   = 12
	em         = 0.61 // a character's advance, in ems, with some room
	charW      = em * fontSize
	rowH       = 22
	margin     = 12
	numW       = 44 // the column of step numbers
	laneGap    = 8
	textDX     = 24 // from a lane's left edge to its text
	lifeDX     = 12 // from a lane's left edge to its lifeline
	minLaneW   = 130
	maxChars   = 54 // longer step texts are cut, whole in the tooltip
	// A panel's rows start below its title, subtitle, legend, group band
	// and lane headers.
	titleY   = 24
	subY     = 42
	legendY  = 60
	groupY   = 70
	groupH   = 18
	headY    = groupY + groupH + 2
	headH    = 24
	gridY    = headY + headH + 6
	lineH    = 16 // the subtitle's and the verdict's lines
	panelGap = 28
)

// Colours: each group a hue (waker warm, runner cool, as a reader of the
// listing would pair them), locks a palette of their own, failure red.
var (
	groupColors = map[string][2]string{ // light fill, dark ink
		"waker":  {"#fde9d2", "#a0530a"},
		"runner": {"#dce9f7", "#2a5d91"},
		"kernel": {"#fde9d2", "#a0530a"},
		"user":   {"#dce9f7", "#2a5d91"},
	}
	otherGroupColors = [][2]string{{"#e0f0dc", "#3b7534"}, {"#ece2f3", "#6a3d8f"}, {"#eeeeee", "#555555"}}
	lockPalette      = []string{"#7b3fa6", "#12806c", "#8c5a2b", "#b0307a", "#5e7a12", "#2d5fa8"}
	// groupCaptions are PrintTrace's column headings.
	groupCaptions = map[string]string{
		"waker":  "waker (softirq, canceller)",
		"runner": "runner (submitter, kick worker)",
		"kernel": "kernel (completions, cancel answers)",
		"user":   "user (Submit, Cancel, Destroy, GetEvents)",
	}
	groupRank = map[string]int{"waker": 0, "runner": 1, "kernel": 2, "user": 3}
)

const (
	failRed   = "#c62828"
	failFill  = "#fde4e4"
	stripe    = "#f4f4f4"
	greyInk   = "#808080"
	textInk   = "#1e1e1e"
	arrowInk  = "#444444"
	titleSize = 15
	smallSize = 10
)

// canvas is one document being written; lock colours are shared by its
// panels, so that ctx_lock has one colour throughout.
type canvas struct {
	b         bytes.Buffer
	lockColor map[string]string
}

func (c *canvas) printf(format string, args ...any) { fmt.Fprintf(&c.b, format, args...) }

func (c *canvas) colorOf(lockName string) string {
	col, ok := c.lockColor[lockName]
	if !ok {
		col = lockPalette[len(c.lockColor)%len(lockPalette)]
		c.lockColor[lockName] = col
	}
	return col
}

// lane is one goroutine's column.
type lane struct {
	thread      int
	name, group string
	x, w        int
	light, dark string
	holds       []*hold
}

// hold is a lock held by a lane's goroutine from one step to another (the
// last step of the trace, open, when it still held it then).
type hold struct {
	lock     string
	from, to int // step indexes
	open     bool
	depth    int // locks this goroutine already held when it took this one
}

// wake is a note's wake-up (step) of the goroutine of lane to.
type wake struct {
	step     int
	from, to *lane
}

// row is one step as drawn.
type row struct {
	lane *lane
	text string // label and notes, cut to fit
	full string // label, notes and function, uncut
	fn   string // the function, when PrintTrace shows it
}

type panelLayout struct {
	p      SVGPanel
	n      int // panel number, for ids
	y      int // top
	width  int
	height int
	title  string
	sub    string
	lanes  []*lane
	rows   []row
	wakes  []wake
	locks  []string // in order of first hold
	// verdict lines: the first bold ones name the step and the
	// invariant, the others give the message.
	verdict []string
	bold    int
	gridH   int
}

// textW is the width of s in a font of size pixels, rounded up.
func textW(s string, size float64) int {
	return int(float64(utf8.RuneCountInString(s))*em*size + 0.999)
}

// raceTitle is the heading of a failure kind, as Main prints it.
func raceTitle(kind string) string {
	if t := Races[kind]; t != "" {
		return t
	}
	return kind
}

// layout places everything of panel p (number n) at top y.
func (c *canvas) layout(p SVGPanel, n, y int) *panelLayout {
	f := p.Failure
	l := &panelLayout{p: p, n: n, y: y, title: raceTitle(f.Kind)}
	l.sub = fmt.Sprintf("protocol %s · scenario %s · %d steps, %d preemptions",
		p.Protocol, p.Scenario, f.Steps, f.Preemptions)

	var byThread map[int]*lane
	l.lanes, byThread = lanesOf(f.Trace)

	// Rows, lock holds and the widths they need.
	need := map[*lane]int{}
	for _, ln := range l.lanes {
		need[ln] = max(minLaneW, textW(ln.name, fontSize)+24)
	}
	openHolds := map[*lane][]*hold{}
	last := len(f.Trace) - 1
	for i, s := range f.Trace {
		ln := byThread[s.Thread]
		text := s.Label
		if len(s.Notes) > 0 {
			text += " " + strings.Join(s.Notes, " ")
		}
		r := row{lane: ln, full: text}
		if fn := shortFunc(s.Func); fn != "" && s.Kind != explore.KindYield && s.Kind != explore.KindWait && s.Kind != explore.KindBackoff {
			r.fn = fn
			r.full += "  [" + fn + "]"
		}
		if utf8.RuneCountInString(text)+utf8.RuneCountInString(r.fn)+3 > maxChars {
			r.fn = ""
			if utf8.RuneCountInString(text) > maxChars {
				text = string([]rune(text)[:maxChars-1]) + "…"
			}
		}
		r.text = text
		w := textDX + textW(r.text, fontSize) + 10
		if r.fn != "" {
			w += textW(" ["+r.fn+"]", fontSize)
		}
		switch s.Kind {
		case explore.KindLock:
			name := strings.TrimPrefix(s.Label, "lock ")
			h := &hold{lock: name, from: i, to: last, open: true, depth: len(openHolds[ln])}
			openHolds[ln] = append(openHolds[ln], h)
			ln.holds = append(ln.holds, h)
			if !slices.Contains(l.locks, name) {
				l.locks = append(l.locks, name)
			}
			c.colorOf(name)
			w += textW(name, smallSize) + 14 + 8*h.depth
		case explore.KindUnlock:
			name := strings.TrimPrefix(s.Label, "unlock ")
			hs := openHolds[ln]
			for j := len(hs) - 1; j >= 0; j-- {
				if hs[j].lock == name {
					hs[j].to, hs[j].open = i, false
					openHolds[ln] = slices.Delete(hs, j, j+1)
					break
				}
			}
		}
		if i == last {
			w += textW("✗ "+f.Kind, fontSize) + 14
		}
		need[ln] = max(need[ln], w)
		l.rows = append(l.rows, r)
	}
	l.wakes = wakesOf(f.Trace, byThread)

	// Lanes from left to right; a group's caption widens its last lane if
	// its lanes are narrower.
	x := margin + numW
	for i, ln := range l.lanes {
		ln.x, ln.w = x, need[ln]
		if i == len(l.lanes)-1 || l.lanes[i+1].group != ln.group {
			start := i
			for start > 0 && l.lanes[start-1].group == ln.group {
				start--
			}
			if capW := textW(groupCaption(ln.group), smallSize+1) + 16; x+ln.w-l.lanes[start].x < capW {
				ln.w = capW - (x - l.lanes[start].x)
			}
		}
		x += ln.w + laneGap
	}
	l.width = max(x-laneGap+margin, margin+textW(l.title, titleSize)+margin, 640)
	// The subtitle and the verdict wrap to the width the lanes need.
	chars := max(60, int(float64(l.width-2*margin-16)/charW))
	l.sub = strings.Join(wrap(l.sub, chars), "\n")
	stepNo := len(f.Trace)
	first := fmt.Sprintf("✗ step %d breaks %s", stepNo, l.title)
	if len(f.Trace) == 0 {
		first = "✗ " + l.title + " (before any step)"
	}
	l.verdict = wrap(first, chars)
	l.bold = len(l.verdict)
	l.verdict = append(l.verdict, wrap("=> "+f.Msg, chars)...)
	l.gridH = len(f.Trace) * rowH
	subLines := strings.Count(l.sub, "\n")
	l.height = gridY + subLines*lineH + l.gridH + 14 + len(l.verdict)*lineH + 14 + panelGap
	return l
}

// lanesOf returns the lanes of trace: one per goroutine, grouped as
// PrintTrace's columns (the waker side first, then the runner side, then
// other groups by their first goroutine), by thread id within a group,
// coloured by group.
func lanesOf(trace []explore.Step) (lanes []*lane, byThread map[int]*lane) {
	byThread = map[int]*lane{}
	for _, s := range trace {
		if byThread[s.Thread] == nil {
			ln := &lane{thread: s.Thread, name: s.Name, group: s.Group}
			byThread[s.Thread] = ln
			lanes = append(lanes, ln)
		}
	}
	firstOf := map[string]int{}
	for _, ln := range lanes {
		if v, ok := firstOf[ln.group]; !ok || ln.thread < v {
			firstOf[ln.group] = ln.thread
		}
	}
	rank := func(g string) int {
		if r, ok := groupRank[g]; ok {
			return r
		}
		return len(groupRank)
	}
	slices.SortStableFunc(lanes, func(a, b *lane) int {
		if ra, rb := rank(a.group), rank(b.group); ra != rb {
			return ra - rb
		}
		if a.group != b.group {
			return firstOf[a.group] - firstOf[b.group]
		}
		return a.thread - b.thread
	})
	others := 0
	for i, ln := range lanes {
		cols, ok := groupColors[ln.group]
		if !ok {
			if i > 0 && lanes[i-1].group == ln.group {
				cols = [2]string{lanes[i-1].light, lanes[i-1].dark}
			} else {
				cols = otherGroupColors[others%len(otherGroupColors)]
				others++
			}
		}
		ln.light, ln.dark = cols[0], cols[1]
	}
	return lanes, byThread
}

// wakesOf returns the wake-ups of trace whose woken goroutine it shows: the
// note's sleeper, the only goroutine that sleeps on the note in the trace,
// else the first to sleep on it after the wake-up. A note the explorer
// could not name (its type name, "*lock.Note") may be any note: no arrow
// for it.
func wakesOf(trace []explore.Step, byThread map[int]*lane) (wakes []wake) {
	for i, s := range trace {
		if s.Kind != explore.KindWakeup {
			continue
		}
		note := strings.TrimPrefix(s.Label, "wake ")
		if strings.HasPrefix(note, "*") {
			continue
		}
		var sleepers []*lane
		var after *lane
		for j, t := range trace {
			if t.Kind != explore.KindSleep || t.Label != "sleep on "+note {
				continue
			}
			if !slices.Contains(sleepers, byThread[t.Thread]) {
				sleepers = append(sleepers, byThread[t.Thread])
			}
			if j > i && after == nil {
				after = byThread[t.Thread]
			}
		}
		to := after
		if len(sleepers) == 1 {
			to = sleepers[0]
		}
		if to != nil && to != byThread[s.Thread] {
			wakes = append(wakes, wake{step: i, from: byThread[s.Thread], to: to})
		}
	}
	return wakes
}

// groupCaption heads the lanes of group g.
func groupCaption(g string) string {
	if s, ok := groupCaptions[g]; ok {
		return s
	}
	return g
}

// wrap breaks s into lines of at most n runes, at spaces where it can.
func wrap(s string, n int) []string {
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		for len(w) > n {
			if len(cur) > 0 {
				lines = append(lines, string(cur))
				cur = nil
			}
			lines = append(lines, string(w[:n]))
			w = w[n:]
		}
		switch {
		case len(cur) == 0:
			cur = w
		case len(cur)+1+len(w) <= n:
			cur = append(append(cur, ' '), w...)
		default:
			lines = append(lines, string(cur))
			cur = w
		}
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// esc escapes s for XML text and attribute values (it also replaces what
// XML cannot hold, such as control characters, with U+FFFD).
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// draw writes panel l.
func (c *canvas) draw(l *panelLayout) {
	f := l.p.Failure
	id := fmt.Sprintf("panel%d", l.n)
	c.printf("<g class=\"panel\" id=\"%s\" transform=\"translate(0,%d)\">\n", id, l.y)
	c.printf("<title>%s</title>\n", esc(f.Kind))
	if l.n > 1 {
		c.printf("<line x1=\"%d\" y1=\"2\" x2=\"%d\" y2=\"2\" stroke=\"#bbbbbb\" stroke-width=\"1\"/>\n", margin, l.width-margin)
	}
	c.printf("<text x=\"%d\" y=\"%d\" font-size=\"%d\" font-weight=\"bold\" fill=\"%s\">%s</text>\n", margin, titleY, titleSize, textInk, esc(l.title))
	shift := 0
	for i, line := range strings.Split(l.sub, "\n") {
		c.printf("<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>\n", margin, subY+i*lineH, greyInk, esc(line))
		shift = i * lineH
	}
	c.printf("<g transform=\"translate(0,%d)\">\n", shift)
	c.legend(l)
	top := gridY
	bottom := top + l.gridH

	// Group bands and lane headers.
	for i, ln := range l.lanes {
		if i == 0 || l.lanes[i-1].group != ln.group {
			end := i
			for end+1 < len(l.lanes) && l.lanes[end+1].group == ln.group {
				end++
			}
			e := l.lanes[end]
			c.printf("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"3\" fill=\"%s\"/>\n", ln.x, groupY, e.x+e.w-ln.x, groupH, ln.light)
			c.printf("<text x=\"%d\" y=\"%d\" font-size=\"%d\" font-weight=\"bold\" fill=\"%s\">%s</text>\n", ln.x+8, groupY+13, smallSize+1, ln.dark, esc(groupCaption(ln.group)))
		}
	}
	// Row stripes, the failing row red.
	for i := range l.rows {
		y := top + i*rowH
		switch {
		case i == len(l.rows)-1:
			c.printf("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"%s\" stroke-width=\"1\"/>\n", margin, y, l.width-2*margin, rowH, failFill, failRed)
		case i%2 == 1:
			c.printf("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", margin, y, l.width-2*margin, rowH, stripe)
		}
	}
	for k, ln := range l.lanes {
		c.lane(l, id, k, ln, top, bottom)
	}
	for _, wk := range l.wakes {
		c.wakeArrow(l, wk, top)
	}
	c.verdict(l, bottom+14)
	c.printf("</g>\n</g>\n")
}

// legend explains the bands' colours and the arrows.
func (c *canvas) legend(l *panelLayout) {
	x := margin
	y := legendY
	for _, name := range l.locks {
		col := c.colorOf(name)
		c.printf("<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"11\" fill=\"%s\" fill-opacity=\"0.15\" stroke=\"%s\"/>\n", x, y-9, col, col)
		c.printf("<rect x=\"%d\" y=\"%d\" width=\"3\" height=\"11\" fill=\"%s\"/>\n", x, y-9, col)
		t := name + " held"
		c.printf("<text x=\"%d\" y=\"%d\" font-size=\"%d\" fill=\"%s\">%s</text>\n", x+19, y, smallSize+1, col, esc(t))
		x += 19 + textW(t, smallSize+1) + 16
	}
	if len(l.locks) > 0 {
		t := "(dashed: still held at the failing step)"
		c.printf("<text x=\"%d\" y=\"%d\" font-size=\"%d\" fill=\"%s\">%s</text>\n", x, y, smallSize+1, greyInk, esc(t))
		x += textW(t, smallSize+1) + 16
	}
	if len(l.wakes) > 0 {
		c.printf("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\"/>\n", x, y-4, x+16, y-4, arrowInk)
		c.arrowHead(x+22, y-4, 1)
		t := "wakes the note's sleeper"
		c.printf("<text x=\"%d\" y=\"%d\" font-size=\"%d\" fill=\"%s\">%s</text>\n", x+28, y, smallSize+1, arrowInk, esc(t))
	}
}

// lane draws one goroutine's column: header, lock bands, lifeline, steps.
func (c *canvas) lane(l *panelLayout, id string, k int, ln *lane, top, bottom int) {
	f := l.p.Failure
	c.printf("<g class=\"lane\" id=\"%s-lane%d\">\n", id, k+1)
	c.printf("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"3\" fill=\"%s\" stroke=\"%s\" stroke-width=\"1\"/>\n", ln.x, headY, ln.w, headH, ln.light, ln.dark)
	c.printf("<text class=\"lane-name\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\" fill=\"%s\">%s</text>\n", ln.x+ln.w/2, headY+17, ln.dark, esc(ln.name))
	for _, h := range ln.holds {
		col := c.colorOf(h.lock)
		x := ln.x + 3 + 4*h.depth
		y := top + h.from*rowH + 2
		hgt := (h.to-h.from+1)*rowH - 4
		dash := ""
		state := fmt.Sprintf("steps %d–%d", h.from+1, h.to+1)
		if h.open {
			dash = " stroke-dasharray=\"4 3\""
			state = fmt.Sprintf("from step %d, still held at step %d", h.from+1, h.to+1)
		}
		c.printf("<g class=\"hold\"><title>%s</title>\n", esc(fmt.Sprintf("%s holds %s, %s", ln.name, h.lock, state)))
		c.printf("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"2\" fill=\"%s\" fill-opacity=\"0.13\" stroke=\"%s\" stroke-opacity=\"0.7\"%s/>\n", x, y, ln.w-6-8*h.depth, hgt, col, col, dash)
		c.printf("<rect x=\"%d\" y=\"%d\" width=\"3\" height=\"%d\" fill=\"%s\"/>\n", x, y, hgt, col)
		c.printf("<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"%d\" font-weight=\"bold\" fill=\"%s\">%s</text>\n</g>\n", ln.x+ln.w-6-4*h.depth, y+13, smallSize, col, esc(h.lock))
	}
	lx := ln.x + lifeDX
	c.printf("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-opacity=\"0.5\" stroke-width=\"1.5\"/>\n", lx, top, lx, bottom, ln.dark)
	last := len(l.rows) - 1
	for i, r := range l.rows {
		if r.lane != ln {
			continue
		}
		s := f.Trace[i]
		y := top + i*rowH
		class, ink, numInk, dot, weight := "step", textInk, greyInk, ln.dark, "normal"
		if i == last {
			class, ink, numInk, dot, weight = "step failing", failRed, failRed, failRed, "bold"
		}
		c.printf("<g class=\"%s\" id=\"%s-step%d\">\n", class, id, i+1)
		c.printf("<title>%s</title>\n", esc(fmt.Sprintf("step %d, %s: %s", i+1, s.Name, r.full)))
		c.printf("<text class=\"n\" x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"%s\" font-weight=\"%s\">%d</text>\n", margin+numW-10, y+15, numInk, weight, i+1)
		c.printf("<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"%s\"/>\n", lx, y+rowH/2, dot)
		// xml:space keeps the space before the function's tspan, which
		// rsvg-convert would otherwise drop.
		c.printf("<text class=\"label\" x=\"%d\" y=\"%d\" fill=\"%s\" font-weight=\"%s\" xml:space=\"preserve\">%s", ln.x+textDX, y+15, ink, weight, esc(r.text))
		if r.fn != "" {
			c.printf(" <tspan fill=\"%s\" font-weight=\"normal\">[%s]</tspan>", greyInk, esc(r.fn))
		}
		c.printf("</text>\n")
		if i == last {
			mx := ln.x + textDX + textW(r.text, fontSize) + 10
			if r.fn != "" {
				mx += textW(" ["+r.fn+"]", fontSize)
			}
			c.printf("<text class=\"mark\" x=\"%d\" y=\"%d\" fill=\"%s\" font-weight=\"bold\">%s</text>\n", mx, y+15, failRed, esc("✗ "+f.Kind))
		}
		c.printf("</g>\n")
	}
	c.printf("</g>\n")
}

// wakeArrow draws a wake-up across its row, from the waker's text to the
// woken goroutine's lifeline.
func (c *canvas) wakeArrow(l *panelLayout, wk wake, top int) {
	y := top + wk.step*rowH + rowH/2
	r := l.rows[wk.step]
	to := wk.to.x + lifeDX
	var from, dir int
	if wk.to.x > wk.from.x {
		from = wk.from.x + textDX + textW(r.text, fontSize) + 6
		if r.fn != "" {
			from += textW(" ["+r.fn+"]", fontSize)
		}
		dir = 1
		to -= 6
	} else {
		from = wk.from.x + lifeDX - 6
		dir = -1
		to += 6
	}
	c.printf("<g class=\"wake\"><title>%s</title>\n", esc(fmt.Sprintf("step %d: %s wakes %s", wk.step+1, wk.from.name, wk.to.name)))
	c.printf("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\"/>\n", from, y, to-dir*6, y, arrowInk)
	c.arrowHead(to, y, dir)
	c.printf("</g>\n")
}

// arrowHead draws a head pointing right (dir 1) or left (-1) with its tip
// at x, y.
func (c *canvas) arrowHead(x, y, dir int) {
	c.printf("<polygon points=\"%d,%d %d,%d %d,%d\" fill=\"%s\"/>\n", x, y, x-dir*8, y-4, x-dir*8, y+4, arrowInk)
}

// verdict draws the failure under the rows: which step broke which
// invariant, and the message.
func (c *canvas) verdict(l *panelLayout, y int) {
	w := 0
	for _, line := range l.verdict {
		w = max(w, textW(line, fontSize))
	}
	c.printf("<g class=\"verdict\">\n")
	c.printf("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"3\" fill=\"%s\" stroke=\"%s\"/>\n", margin, y, w+16, len(l.verdict)*lineH+8, failFill, failRed)
	for i, line := range l.verdict {
		weight := "normal"
		if i < l.bold {
			weight = "bold"
		}
		c.printf("<text x=\"%d\" y=\"%d\" fill=\"%s\" font-weight=\"%s\">%s</text>\n", margin+8, y+16+i*lineH, failRed, weight, esc(line))
	}
	c.printf("</g>\n")
}
