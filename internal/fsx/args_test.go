//go:build linux

package fsx

import (
	"io"
	"reflect"
	"testing"
)

func TestGetopt(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		opts     string // codes, with "=arg" after those that have one
		operands []string
	}{
		{[]string{"-dq", "f"}, "d q", []string{"f"}},
		{[]string{"-N", "100", "f"}, "N=100", []string{"f"}},
		{[]string{"-N100", "f"}, "N=100", []string{"f"}},
		{[]string{"-dN100", "f"}, "d N=100", []string{"f"}},
		{[]string{"f", "-N", "5"}, "N=5", []string{"f"}},
		{[]string{"--dur=5", "f"}, "254=5", []string{"f"}},
		{[]string{"--record-ops", "f"}, "255", []string{"f"}},
		{[]string{"--replay-ops", "x", "f"}, "256=x", []string{"f"}},
		{[]string{"-d", "--", "-q"}, "d", []string{"-q"}},
		{[]string{"-"}, "", []string{"-"}},
	} {
		opts, operands, err := getopt(tc.args, shortOpts, longOpts)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		got := ""
		for i, o := range opts {
			if i > 0 {
				got += " "
			}
			if o.code < 256 && o.code != optDuration && o.code != optRecordOps {
				got += string(rune(o.code))
			} else {
				got += itoa(o.code)
			}
			if o.hasArg {
				got += "=" + o.arg
			}
		}
		if got != tc.opts || !reflect.DeepEqual(operands, tc.operands) {
			t.Errorf("%q: options %q operands %q, want %q %q", tc.args, got, operands, tc.opts, tc.operands)
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestNumber: C's getnum where it reads a number whole; an error where it
// would misread one.
func TestNumber(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi int64
		want   int64
		err    string
	}{
		{"100", 0, llMax, 100, ""},
		{"0x10", 0, llMax, 16, ""},
		{"010", 0, llMax, 8, ""},
		{"0", 0, llMax, 0, ""},
		{"1k", 0, llMax, 1024, ""},
		{"2m", 0, llMax, 2 << 20, ""},
		{"3b", 0, llMax, 1536, ""},
		{"4w", 0, llMax, 16, ""},
		{" 5", 0, llMax, 5, ""},
		{"-5", -10, llMax, -5, ""},
		{"-5", 0, llMax, 0, "below 0"},
		{"7:9", 0, llMax, 0, `":9" after the number`},
		{"1kk", 0, llMax, 0, `"k" after the number`},
		{"x", 0, llMax, 0, "not a number"},
		{"", 0, llMax, 0, "not a number"},
		{"0x", 0, llMax, 0, `"x" after the number`},
		{"99999999999999999999", 0, llMax, 0, "out of range"},
		{"9007199254740992k", 0, llMax, 0, "out of range"},
		{"2147483648", 1, cIntMax, 0, "over 2147483647"},
	} {
		v, err := number(tc.in, tc.lo, tc.hi)
		if v != tc.want || err != tc.err {
			t.Errorf("number(%q, %d, %d) = %d, %q; want %d, %q", tc.in, tc.lo, tc.hi, v, err, tc.want, tc.err)
		}
	}
}

func TestLooksLikeEngine(t *testing.T) {
	for w, want := range map[string]bool{
		"retry": true, "retyr": true, "uring": true, "urnig": true, "ring": true, "NATIVE": true, "auto": true,
		"f": false, "f2": false, "bogus": false, "data": false, "/tmp/retry": false, "retry.dat": false, "-q": false,
	} {
		if got := looksLikeEngine(w); got != want {
			t.Errorf("looksLikeEngine(%q) = %v, want %v", w, got, want)
		}
	}
}

// TestRerunCommand: the failure report's rerun line gives the seed once,
// where the command line had it (resolving -S 0), else in front.
func TestRerunCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		seed int
		want string
	}{
		{[]string{"-N", "1000", "-S", "7", "/var/tmp/f"}, 7, "fsx -N 1000 -S 7 /var/tmp/f"},
		{[]string{"-N", "1000", "/var/tmp/f", "-S", "7"}, 7, "fsx -N 1000 /var/tmp/f -S 7"},
		{[]string{"-S", "0", "f"}, 4321, "fsx -S 4321 f"},
		{[]string{"-qS0", "f"}, 4321, "fsx -qS4321 f"},
		{[]string{"-S", "3", "-S7", "f"}, 7, "fsx -S 3 -S7 f"},
		{[]string{"-N", "5", "f"}, 1, "fsx -S 1 -N 5 f"},
		{[]string{"-N", "5", "--", "-f"}, 1, "fsx -S 1 -N 5 -- -f"},
		{[]string{"-N", "5", "a b"}, 1, "fsx -S 1 -N 5 'a b'"},
	} {
		f := &fsx{cfg: &Config{Args: tc.args, Seed: tc.seed}}
		if got := f.rerunCommand(); got != tc.want {
			t.Errorf("%q, seed %d: %q, want %q", tc.args, tc.seed, got, tc.want)
		}
	}
}

func TestParseArgsCQuirks(t *testing.T) {
	// -m falls through to -n in the C tool, and -s is shadowed by a local.
	cfg, code := ParseArgs([]string{"-m", "4096:0", "-s", "1", "f"}, io.Discard, io.Discard)
	if code >= 0 {
		t.Fatalf("exit %d", code)
	}
	if !cfg.NoSizeChecks || !cfg.Debug || cfg.MonitorStart != 4096 || cfg.MonitorEnd != -1 || cfg.Style != 0 {
		t.Errorf("config %+v", cfg)
	}
	cfg, _ = ParseArgs([]string{"-j", "ID", "-b", "5", "-q", "-c", "3", "-W", "f"}, io.Discard, io.Discard)
	want := []string{"ID: Will begin at operation 5\n"} // -q silences what follows it
	if !reflect.DeepEqual(cfg.Banner, want) || cfg.SimulatedOps != 4 || cfg.CloseProb != 3 {
		t.Errorf("banner %q (want %q), simulated %d, closeprob %d", cfg.Banner, want, cfg.SimulatedOps, cfg.CloseProb)
	}
}
