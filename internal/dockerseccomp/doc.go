// Package dockerseccomp runs kaio's tests and tools inside Docker's
// default seccomp profile, without Docker: the profile is taken from
// github.com/moby/profiles/seccomp (DefaultProfile, resolved as runc
// resolves it for this architecture, this kernel and Docker's default
// capabilities), translated into a github.com/elastic/go-seccomp-bpf policy
// and installed as a BPF filter in pure Go (no cgo, no libseccomp), with
// no_new_privs and SECCOMP_FILTER_FLAG_TSYNC so that every thread of the
// process has it. Filters survive execve: cmd/seccomp-run installs one and
// execs a program (aio-stress) inside it.
//
// The profile refuses io_uring_setup, io_uring_enter and io_uring_register
// (by omission: its default action is ERRNO(EPERM)) and allows the Linux
// AIO syscalls, as Docker and containerd have since 2023.
//
// A test binary that imports this package re-runs itself inside a policy
// with RunTests: the child gets the policy's name in $KAIO_SECCOMP_POLICY
// and installs it when this package is initialised, before TestMain and
// before any test, as a container's processes have theirs from their first
// instruction.
package dockerseccomp
