//go:build linux

package kickrace

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kaio-go/kaio/internal/explore"
)

// Protocols are the protocols of cmd/aio-race: the kick paths, which run
// the engine scenarios. kaio also runs the kernel scenarios over kctx, and
// kernel-before runs them over the bookkeeping at 9fadd19 (ProtocolNames).
var Protocols = []*Protocol{RC3, Kaio, V2614}

// KernelBefore is the name of the protocol that runs the kernel scenarios
// over BeforeProtocols.
const KernelBefore = "kernel-before"

// ProtocolNames lists what -protocol accepts.
func ProtocolNames() string { return "rc3, kaio, 2.6.14, " + KernelBefore }

// job is one scenario under one protocol: what Main explores and prints.
type job struct {
	name, doc   string
	preemptions int
	setup       func(*explore.Run)
}

// jobs returns the jobs of protocol name and scenario (a name or "all"),
// and the protocol's description.
func jobs(name, scenario string) ([]job, string, error) {
	var js []job
	var doc string
	known := false
	p, engine := FindProtocol(name)
	var kps []*KernelProtocol
	switch {
	case name == KernelBefore:
		doc = "the kernel engines' user-space bookkeeping as it was at 9fadd19, over a model kernel (io_uring and Linux AIO)"
		kps = BeforeProtocols
	case engine:
		doc = p.Doc
		if p == Kaio {
			doc += "; and internal/kctx, the kernel engines' bookkeeping, over a model kernel (io_uring and Linux AIO)"
			kps = KctxProtocols
		}
	default:
		return nil, "", fmt.Errorf("unknown protocol %q (%s)", name, ProtocolNames())
	}
	for _, s := range Scenarios {
		if scenario != "all" && scenario != s.Name {
			continue
		}
		known = true
		if !engine {
			if scenario == "all" {
				break
			}
			return nil, "", fmt.Errorf("scenario %q explores the kick path (-protocol rc3, kaio or 2.6.14)", s.Name)
		}
		if !s.RunsOn(p) {
			if scenario != "all" {
				return nil, "", fmt.Errorf("scenario %q runs on kaio's engine only (-protocol kaio)", s.Name)
			}
			continue
		}
		js = append(js, job{s.Name, s.Doc, s.Preemptions, s.Setup(p)})
	}
	for _, s := range KernelScenarios {
		if scenario != "all" && scenario != s.Name {
			continue
		}
		known = true
		if kps == nil && scenario == "all" {
			break
		}
		if kps == nil {
			return nil, "", fmt.Errorf("scenario %q explores the kernel engines' bookkeeping (-protocol kaio or %s)", s.Name, KernelBefore)
		}
		for _, kp := range kps {
			js = append(js, job{kp.Fl.Name + "/" + s.Name, s.Doc, s.Preemptions, s.Setup(kp)})
		}
	}
	if !known {
		var names []string
		for _, s := range Scenarios {
			names = append(names, s.Name)
		}
		for _, s := range KernelScenarios {
			names = append(names, s.Name)
		}
		return nil, "", fmt.Errorf("unknown scenario %q (%s, all)", scenario, strings.Join(names, ", "))
	}
	return js, doc, nil
}

// FindProtocol returns the protocol called name.
func FindProtocol(name string) (*Protocol, bool) {
	for _, p := range Protocols {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Races names the failure kinds.
var Races = map[string]string{
	"1a":          "(1a) a waker kicks a request that already completed",
	"1a-sync":     "(1a) in the sync branch: a waker wakes the task of a sync request that already returned",
	"1b":          "(1b) a waker finds the request waiting again on a new wait",
	"2":           "(2) a request queued twice for one kick",
	"lost-wakeup": "lost wake-up: a request that was kicked never ran again",
	"completion":  "a request completed twice",
	"deadlock":    "deadlock",
	"livelock":    "livelock",
	"panic":       "panic (an invariant of the code under test)",
	"unlock":      "unlock of a lock not held",
	// The kernel scenarios' checks.
	"lost-event":    "lost event: an accepted request never ends (or ends twice)",
	"destroy-hang":  "Destroy hangs: it waits for a completion the kernel does not owe",
	"reaper-asleep": "a reaper is left asleep in GetEvents: Destroy must wake every reaper",
	"slot-leak":     "a ring slot or a kernel entry is held after every request ended",
	"submit":        "Submit refused a request for a reason other than Destroy",
}

// Outcome is what exploring one scenario under one protocol found.
type Outcome struct {
	Scenario Scenario
	Result   explore.Result
	Elapsed  time.Duration
}

// Explore runs every schedule of s under p.
func Explore(p *Protocol, s Scenario, opts explore.Options) Outcome {
	t := time.Now()
	r := explore.Explore(s.Setup(p), opts)
	return Outcome{Scenario: s, Result: r, Elapsed: time.Since(t)}
}

// Config is cmd/aio-race's configuration.
type Config struct {
	Protocol string
	Scenario string // a name, or "all"
	Verbose  bool
	Options  explore.Options
	// ScenarioBounds: the command line gave no preemption bound, so a
	// scenario's own (Scenario.Preemptions) applies.
	ScenarioBounds bool
	// SVG, when not empty, is a file to draw the shortest failing schedule
	// of each failure kind in (WriteSVGFile), one panel per kind in the
	// order of the report. It is not written when no schedule fails.
	SVG string
}

// Main explores cfg's scenarios under its protocol and writes the report
// to out. It reports whether any schedule failed.
func Main(cfg Config, out io.Writer) (failed bool, err error) {
	js, doc, err := jobs(cfg.Protocol, cfg.Scenario)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(out, "protocol %s: %s\n", cfg.Protocol, doc)
	// The shortest schedule per failure kind, over all scenarios.
	type found struct {
		f        *explore.Failure
		scenario string
	}
	shortest := map[string]found{}
	var kinds []string
	for _, s := range js {
		opts := cfg.Options
		if cfg.ScenarioBounds && s.preemptions > 0 && (opts.Preemptions < 0 || s.preemptions < opts.Preemptions) {
			opts.Preemptions = s.preemptions
		}
		bound := "every schedule"
		if opts.Preemptions >= 0 {
			bound = fmt.Sprintf("every schedule with at most %d preemptions", opts.Preemptions)
		}
		t := time.Now()
		r := explore.Explore(s.setup, opts)
		elapsed := time.Since(t)
		status := "ok"
		if r.Failed > 0 {
			status = fmt.Sprintf("FAILED in %d: %s", r.Failed, strings.Join(r.Kinds(), ", "))
			failed = true
		}
		reach := bound
		if !r.Exhaustive {
			reach = "stopped at the schedule bound"
		}
		fmt.Fprintf(out, "%-20s %7d schedules (%s, up to %d steps, %v)  %s\n", s.name, r.Schedules, reach, r.MaxDepth, elapsed.Round(time.Millisecond), status)
		if cfg.Verbose {
			fmt.Fprintf(out, "          %s\n", s.doc)
		}
		for _, k := range r.Kinds() {
			f := r.Shortest[k]
			old, ok := shortest[k]
			if !ok {
				kinds = append(kinds, k)
			}
			if !ok || f.Steps < old.f.Steps || f.Steps == old.f.Steps && f.Preemptions < old.f.Preemptions {
				shortest[k] = found{f, s.name}
			}
			if cfg.Verbose {
				fmt.Fprintf(out, "\n%s: shortest in this scenario (%d steps)\n", k, f.Steps)
				PrintTrace(out, f)
			}
		}
	}
	if !failed {
		fmt.Fprintf(out, "no schedule failed\n")
		if cfg.SVG != "" {
			fmt.Fprintf(out, "nothing to draw: %s not written\n", cfg.SVG)
		}
		return false, nil
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fd := shortest[k]
		title := Races[k]
		if title == "" {
			title = k
		}
		fmt.Fprintf(out, "\n%s\n  scenario %s, %d steps, %d preemptions: %s\n\n", title, fd.scenario, fd.f.Steps, fd.f.Preemptions, fd.f.Msg)
		PrintTrace(out, fd.f)
	}
	if cfg.SVG != "" {
		var panels []SVGPanel
		for _, k := range kinds {
			panels = append(panels, SVGPanel{Failure: shortest[k].f, Protocol: cfg.Protocol, Scenario: shortest[k].scenario})
		}
		if err := WriteSVGFile(cfg.SVG, panels); err != nil {
			return true, fmt.Errorf("-svg %q: %w", cfg.SVG, err)
		}
		fmt.Fprintf(out, "\nthese schedules are drawn in %s\n", cfg.SVG)
	}
	return true, nil
}

// PrintTrace prints a schedule in two columns, waker | runner, one step a
// line, as the RFC draws its races (kernel | user for the kernel
// scenarios).
func PrintTrace(out io.Writer, f *explore.Failure) {
	const width = 52
	left, right := "waker", "runner"
	for _, s := range f.Trace {
		if s.Group == "kernel" || s.Group == "user" {
			left, right = "kernel", "user"
			break
		}
	}
	fmt.Fprintf(out, "  %3s  %-*s | %s\n", "", width, groupCaptions[left], groupCaptions[right])
	fmt.Fprintf(out, "  %3s  %s-+-%s\n", "", strings.Repeat("-", width), strings.Repeat("-", width))
	multi := map[string]map[string]bool{}
	for _, s := range f.Trace {
		if multi[s.Group] == nil {
			multi[s.Group] = map[string]bool{}
		}
		multi[s.Group][s.Name] = true
	}
	for i, s := range f.Trace {
		text := s.Label
		if fn := shortFunc(s.Func); fn != "" && s.Kind != explore.KindYield && s.Kind != explore.KindWait && s.Kind != explore.KindBackoff {
			text += "  [" + fn + "]"
		}
		if len(multi[s.Group]) > 1 || s.Group == right {
			text = s.Name + ": " + text
		}
		if len(s.Notes) > 0 {
			text += " " + strings.Join(s.Notes, " ")
		}
		if s.Group == left {
			fmt.Fprintf(out, "  %3d  %-*s |\n", i+1, width, text)
		} else {
			fmt.Fprintf(out, "  %3d  %-*s | %s\n", i+1, width, "", text)
		}
	}
	fmt.Fprintf(out, "  => %s\n", f.Msg)
}

// shortFunc trims a function name to its last element: kick.(*Ctx).Wake
// stays, kickrace.(*kioctx).Submit becomes Submit.
func shortFunc(fn string) string {
	if strings.Contains(fn, ".func") {
		return "" // a closure of a scenario: its label says enough
	}
	if strings.HasPrefix(fn, "kickrace.") {
		fn = fn[len("kickrace."):]
		if i := strings.LastIndex(fn, "."); i >= 0 {
			fn = fn[i+1:]
		}
	}
	return fn
}
