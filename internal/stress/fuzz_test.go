//go:build linux

package stress

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCommandLine: no command line makes aio-stress panic, in parsing or in
// a run. The command line is the words of line. A run is bounded to stay
// small and short: files renamed into a temporary directory (at most 4),
// at most 4096 ios per stage, at most 4 threads, no progress line.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		"-s 64m f",
		"-s 1 -r 4k -o 0 -o 1 f",
		"-s 2 -l -L -t 2 -c 2 -C 0 -x f g",
		"-s 1m -r 64k -a 16k -d 4 -i 2 -b 3 -I 5 -v -n -u f",
		"-s 1 -O -S -m shmfs -json -E retry f",
		"-s 1 -m shm -o 3 -o 2 f",
		"-h",
		"--help",
		"-s 1 -E native f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cfg, err := ParseArgs(strings.Fields(line))
		if err != nil || cfg.validate() != nil {
			return
		}
		if len(cfg.Files) > 4 {
			cfg.Files = cfg.Files[:4]
		}
		dir := t.TempDir()
		for i := range cfg.Files {
			cfg.Files[i] = filepath.Join(dir, fmt.Sprint("f", i))
		}
		ios := cfg.FileSize / cfg.RecLen * int64(cfg.Contexts) * int64(len(cfg.Files))
		if ios > 4096 || cfg.FileSize > 16<<20 || cfg.Threads > 4 || cfg.Contexts > 16 || cfg.Depth > 256 {
			return
		}
		cfg.Progress = false
		Run(cfg, io.Discard, io.Discard)
	})
}
