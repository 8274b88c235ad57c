//go:build linux

package stress

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// spaceWarnings says, before a run that writes, which file systems do not
// have the room for their files at -s: the writes past the free space fail
// with ENOSPC, and the stage ends with io errors instead of a throughput.
// A file already allocated counts as room. Block devices and files that
// cannot be looked at are left to the run.
func spaceWarnings(cfg *Config, stages uint) []string {
	if stages&(1<<StageWrite|1<<StageRandomWrite) == 0 {
		return nil
	}
	type fsNeed struct {
		files []string
		need  int64
		free  int64
	}
	var order []unix.Fsid
	byFS := map[unix.Fsid]*fsNeed{}
	seen := map[string]bool{}
	for _, f := range cfg.Files {
		if seen[f] {
			continue
		}
		seen[f] = true
		var st unix.Stat_t
		var sfs unix.Statfs_t
		if unix.Stat(f, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || unix.Statfs(f, &sfs) != nil {
			continue
		}
		n := byFS[sfs.Fsid]
		if n == nil {
			// Root may write into the blocks reserved for it.
			avail := sfs.Bavail
			if unix.Geteuid() == 0 {
				avail = sfs.Bfree
			}
			n = &fsNeed{free: int64(avail) * int64(sfs.Bsize)} // Bsize is int32 or uint32 on some architectures
			byFS[sfs.Fsid] = n
			order = append(order, sfs.Fsid)
		}
		n.files = append(n.files, f)
		n.need += max(0, cfg.FileSize-st.Blocks*512)
	}
	var ws []string
	for _, id := range order {
		n := byFS[id]
		if n.need <= n.free {
			continue
		}
		verb, their := "needs", "its"
		if len(n.files) > 1 {
			verb, their = "need", "their"
		}
		ws = append(ws, fmt.Sprintf("%s %s %.2f MB more for -s %.2f MB, and %s file system has %.2f MB free: the writes past that will fail (ENOSPC)",
			strings.Join(n.files, ", "), verb, float64(n.need)/float64(mib), float64(cfg.FileSize)/float64(mib), their, float64(n.free)/float64(mib)))
	}
	return ws
}
