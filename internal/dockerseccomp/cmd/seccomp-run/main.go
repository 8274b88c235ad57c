//go:build linux

// Command seccomp-run runs a program inside Docker's default seccomp
// profile (or another policy of internal/dockerseccomp), without Docker:
// it installs the filter on itself and execs the program, which inherits
// it (filters survive execve). CI and scripts/bench-fio.sh run aio-stress
// through it.
//
//	seccomp-run [-policy docker] [-v] program [arg...]
//
// Exit status: the program's; 125 when the filter cannot be installed (as
// docker run's own failures), 127 when the program is not found.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/kaio-go/kaio/internal/dockerseccomp"
	"github.com/kaio-go/kaio/internal/procinfo"
	"golang.org/x/sys/unix"
)

func main() {
	policy := flag.String("policy", "docker", "the policy: docker, or errno:SYSCALL=ERRNO,...")
	verbose := flag.Bool("v", false, "say on stderr what was installed and approximated")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: seccomp-run [-policy docker] [-v] program [arg...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(125)
	}
	path, err := exec.LookPath(flag.Arg(0))
	if err != nil {
		fmt.Fprintf(os.Stderr, "seccomp-run: %v\n", err)
		os.Exit(127)
	}
	if dockerseccomp.Active() != *policy { // not installed already from the environment
		if err := dockerseccomp.InstallNamed(*policy); err != nil {
			fmt.Fprintf(os.Stderr, "seccomp-run: policy %s: %v\n", *policy, err)
			os.Exit(125)
		}
	}
	if *verbose {
		fmt.Fprintf(os.Stderr, "seccomp-run: policy %s installed (%s)\n", *policy, procinfo.ReadStatus().SeccompString())
		if *policy == "docker" {
			if _, tr, err := dockerseccomp.DockerPolicy(); err == nil {
				for _, n := range tr.Notes {
					fmt.Fprintf(os.Stderr, "seccomp-run: approximated: %s\n", n)
				}
				fmt.Fprintf(os.Stderr, "seccomp-run: names this architecture lacks, skipped as libseccomp does: %s\n", strings.Join(tr.Unknown, " "))
			}
		}
	}
	err = unix.Exec(path, flag.Args(), os.Environ())
	fmt.Fprintf(os.Stderr, "seccomp-run: exec %s: %v\n", path, err)
	os.Exit(126)
}
