//go:build linux

// Command aio-race replays the kick-path races of the July 2005 LKML RFC
// "Races in aio call back path": it runs every schedule of each scenario
// (internal/explore/kickrace) under a protocol of the kick path and checks
// DESIGN §3's invariants after every step.
//
//	aio-race -protocol rc3 -scenario all            # finds (1a), (1b) and (2); exits 1
//	aio-race -protocol kaio -scenario all           # no schedule fails; exits 0
//	aio-race -protocol kernel-before -scenario all  # a lost event and a Destroy hang; exits 1
//
// kaio runs the retry engine's own code (internal/retry, internal/kick)
// and the kernel engines' bookkeeping (internal/kctx) over a model kernel;
// kernel-before runs that bookkeeping as it was at 9fadd19.
//
// Under a protocol with failures it prints, per failure kind, the shortest
// failing schedule in two columns (waker | runner); with -svg FILE it also
// draws them in FILE, one lane per goroutine. See docs/aio-race.md for what
// a passing run does and does not prove.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kaio-go/kaio/internal/explore"
	"github.com/kaio-go/kaio/internal/explore/kickrace"
)

func main() {
	protocol := flag.String("protocol", "kaio", "protocol: rc3 (Linux 2.6.13-rc3), kaio (the retry engine and internal/kctx), 2.6.14, kernel-before (the kernel engines' bookkeeping at 9fadd19)")
	scenario := flag.String("scenario", "all", "scenario name, or all")
	verbose := flag.Bool("v", false, "describe each scenario and print its shortest failing schedules")
	preempt := flag.Int("preemptions", 0, "bound on preemptive context switches per schedule (-1: no bound; when not given: 3 for rc3, none otherwise)")
	maxSched := flag.Int("max-schedules", 0, "stop a scenario after this many schedules (0: no bound)")
	svg := flag.String("svg", "", "also draw the shortest failing schedule of each failure kind in `FILE`, an SVG picture with one panel per kind (not written when no schedule fails)")
	flag.Parse()
	if err := checkFlags(flag.CommandLine); err != nil {
		fmt.Fprintln(os.Stderr, "aio-race:", err)
		os.Exit(2)
	}
	if !isSet(flag.CommandLine, "preemptions") {
		// rc3 fails within a few preemptions; its exhaustive search
		// (hundreds of thousands of schedules for rewait) proves nothing
		// more. kaio and 2.6.14 are explored exhaustively.
		*preempt = -1
		if *protocol == "rc3" {
			*preempt = 3
		}
	}
	failed, err := kickrace.Main(kickrace.Config{
		Protocol:       *protocol,
		Scenario:       *scenario,
		Verbose:        *verbose,
		SVG:            *svg,
		Options:        explore.Options{Preemptions: *preempt, MaxSchedules: *maxSched},
		ScenarioBounds: !isSet(flag.CommandLine, "preemptions"),
	}, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aio-race:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}
