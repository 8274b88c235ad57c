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

func TestGetnum(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		rest string
	}{
		{"100", 100, ""},
		{"0x10", 16, ""},
		{"010", 8, ""},
		{"0", 0, ""},
		{"1k", 1024, ""},
		{"2m", 2 << 20, ""},
		{"3b", 1536, ""},
		{"4w", 16, ""},
		{"-5", -5, ""},
		{"7:9", 7, ":9"},
		{"x", 0, "x"},
		{"0x", 0, "x"},
		{"99999999999999999999", 1<<63 - 1, ""},
	} {
		v, rest := getnum(tc.in)
		if v != tc.want || rest != tc.rest {
			t.Errorf("getnum(%q) = %d, %q; want %d, %q", tc.in, v, rest, tc.want, tc.rest)
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
