//go:build linux

package fsx

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCommandLine: no command line makes fsx panic, in parsing or in a run.
// The command line is the words of line; ops, when the line asks for
// --replay-ops, is the replay file. A run is bounded to stay small and
// short: at most 50 operations on a file of at most 1 MiB in a temporary
// directory, no --duration, no close/open (-c drops the machine's page
// cache), no integrity mode (-i runs dmsetup).
func FuzzCommandLine(f *testing.F) {
	for _, s := range []struct{ line, ops string }{
		{"-N 10 f", ""},
		{"-l -1 -N 10 f", ""},
		{"-l 100000000000000 -N 10 f", ""},
		{"--duration=-5 f", ""},
		{"-N 10 -E retyr", ""},
		{"-E bogus -N 10 f2", ""},
		{"-Ebogus", ""},
		{"-dqN20 -S0 -o 4k -l 64k -r 512 -w 512 -t 512 f", ""},
		{"-N 30 -O -o 3000 -X -e 1 -g x -W -R -m 0:0 f", ""},
		{"-b 20 -N 40 -p 5 -D 3 -j id -F -H -z -C -I -J -B -E -0 -K -a -u f", ""},
		{"-A --engine=retry -N 20 -y -f f", ""},
		{"-L -N 5 f", ""},
		{"-k -N 5 f", ""},
		{"--replay-ops=x f", "write 0x0 0x1000 0x0\nmapwrite 0x10 0x20 0x1000\ntruncate 0x0 0x100 0x1020 *\nskip read 0x0 0x0 0x0\n"},
		{"--replay-ops=x f", "copy_range 0x0 0x100 0x200 0x0\nfallocate 0x0 0x10 0x0 keep_size\n"},
		{"--record-ops -N 5 f", ""},
	} {
		f.Add(s.line, s.ops)
	}
	f.Fuzz(func(t *testing.T, line, ops string) {
		cfg, code := ParseArgs(strings.Fields(line), io.Discard, io.Discard)
		if code >= 0 {
			return
		}
		dir := t.TempDir()
		cfg.File = filepath.Join(dir, "f")
		cfg.Dir = dir
		if cfg.RecordOpsFile != "" {
			cfg.RecordOpsFile = filepath.Join(dir, "rec.ops")
		}
		if cfg.ReplayOps != "" {
			cfg.ReplayOps = filepath.Join(dir, "replay.ops")
			if err := os.WriteFile(cfg.ReplayOps, []byte(ops), 0o666); err != nil {
				t.Fatal(err)
			}
		}
		cfg.LogDev, cfg.CloseProb, cfg.Duration = "", 0, 0
		if cfg.NumOps < 0 || cfg.NumOps > 50 {
			cfg.NumOps = 50
		}
		cfg.SimulatedOps = min(cfg.SimulatedOps, 200)
		cfg.MaxFileLen = min(cfg.MaxFileLen, 1<<20)
		cfg.MaxOpLen = min(cfg.MaxOpLen, 1<<16)
		cfg.ReadBdy, cfg.WriteBdy, cfg.TruncBdy = min(cfg.ReadBdy, 1<<16), min(cfg.WriteBdy, 1<<16), min(cfg.TruncBdy, 1<<16)
		if cfg.KeepFile || cfg.Lite {
			// An existing file, so that these run too.
			if err := os.WriteFile(cfg.File, make([]byte, 4096), 0o666); err != nil {
				t.Fatal(err)
			}
		}
		Run(cfg, io.Discard, io.Discard)
	})
}
