// Package procinfo reads what the kernel says about this process and its
// limits, for the engines' probes to explain a refusal: the seccomp state
// and effective capabilities of /proc/self/status, sysctls, RLIMIT_MEMLOCK
// and group membership. It reads; it never changes anything.
package procinfo
