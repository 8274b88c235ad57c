# bench-common.sh, sourced by bench-fio.sh and bench-file.sh after they set
# LOOP and DIR: bench_setup removes, when the script exits, its temporary
# directory ($tmp) and file ($FILE), and with LOOP=SIZE runs it on an ext4
# file system on a loop device over a file in /dev/shm (DIR becomes its
# mount point), so that O_DIRECT I/O goes through ext4 and the block layer
# to RAM and the figures measure the programs rather than a disk shared
# with other machines. LOOP needs root, losetup and mkfs.ext4.
# bench_seccomp sets IN, what runs a tool: nothing, or with SECCOMP=docker
# seccomp-run, which installs Docker's default seccomp profile and execs it.

bench_setup() {
	trap bench_cleanup EXIT
	if [ -n "$LOOP" ]; then
		loopimg=$(mktemp /dev/shm/kaio-bench-XXXXXX.img)
		truncate -s "$LOOP" "$loopimg"
		loopdev=$(losetup -f --show "$loopimg")
		mkfs.ext4 -q "$loopdev"
		DIR=$(mktemp -d /tmp/kaio-bench-mnt-XXXXXX)
		mount "$loopdev" "$DIR"
	fi
}

bench_cleanup() {
	rm -rf "${tmp:-}"
	rm -f "${FILE:-}"
	if [ -n "${loopdev:-}" ]; then
		umount "$DIR" 2>/dev/null || true
		losetup -d "$loopdev" 2>/dev/null || true
		rmdir "$DIR" 2>/dev/null || true
		rm -f "$loopimg"
	fi
}

bench_seccomp() {
	IN=()
	if [ -n "$SECCOMP" ]; then
		go build -o "$tmp/seccomp-run" ./internal/dockerseccomp/cmd/seccomp-run
		IN=("$tmp/seccomp-run" -policy "$SECCOMP")
	fi
}
