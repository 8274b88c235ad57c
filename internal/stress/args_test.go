//go:build linux

package stress

import (
	"errors"
	"reflect"
	"testing"

	"github.com/kaio-go/kaio"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		unit int64
		want int64
		bad  bool
	}{
		{"256", mib, 256 << 20, false},
		{"64", kib, 64 << 10, false},
		{"4k", mib, 4 << 10, false},
		{"4K", mib, 4 << 10, false},
		{"3m", kib, 3 << 20, false},
		{"2g", mib, 2 << 30, false},
		{"512b", kib, 512, false},
		{"512B", kib, 512, false},
		{"0", mib, 0, false},
		{"12x", mib, 0, true},
		{"", mib, 0, true},
		{"k", mib, 0, true},
		{"-1", mib, 0, true},
		{"+1", mib, 0, true},
		{"1.5m", mib, 0, true},
		{"99999999999999999g", mib, 0, true},
	} {
		got, err := ParseSize(tc.in, tc.unit)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseSize(%q, %d) = %d, %v; want %d, bad %v", tc.in, tc.unit, got, err, tc.want, tc.bad)
		}
	}
}

func TestParseArgs(t *testing.T) {
	c, err := ParseArgs([]string{"f1", "-s256", "-r", "4k", "-nOSvuxlL", "-a", "8k", "-d", "32", "-i", "4",
		"-b", "16", "-c", "2", "-C", "4m", "-I", "10", "-o", "3", "-o", "0", "-m", "shmfs", "-t", "2",
		"-E", "retry", "-json", "f2", "--", "-f3"})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Files = []string{"f1", "f2", "-f3"}
	want.FileSize, want.RecLen, want.Align = 256<<20, 4<<10, 8<<10
	want.NoFsync, want.ODirect, want.OSync, want.Verify, want.Unlink, want.NoStonewall = true, true, true, true, true, true
	want.SubmitLat, want.CompletionLat = true, true
	want.Depth, want.IOIter, want.MaxIOSubmit, want.Contexts, want.ContextOffset = 32, 4, 16, 2, 4<<20
	want.Iterations, want.Stages, want.Mem, want.Threads = 10, []int{3, 0}, MemSHMFS, 2
	want.Engine, want.JSON = kaio.EngineRetry, true
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	// -C sets the context offset only, not -b as well.
	if c, _ := ParseArgs([]string{"-C", "8", "f"}); c.MaxIOSubmit != 0 || c.ContextOffset != 8<<20 {
		t.Fatalf("-C 8: %+v", c)
	}
	if _, err := ParseArgs([]string{"-vh", "f"}); !errors.Is(err, ErrHelp) {
		t.Fatalf("-vh: %v", err)
	}
	if _, err := ParseArgs([]string{"--help"}); !errors.Is(err, ErrLongHelp) {
		t.Fatalf("--help: %v", err)
	}
}

// FuzzParseArgs: no command line makes the parser or the validation panic.
func FuzzParseArgs(f *testing.F) {
	f.Add("-s", "12k", "-r", "4")
	f.Add("-nOv", "-C", "0", "f")
	f.Add("-o", "9", "-E", "uring")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		cfg, err := ParseArgs([]string{a, b, c, d})
		if err == nil {
			cfg.validate()
		}
	})
}
