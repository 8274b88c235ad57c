# loop-ext4.sh, sourced by bench-fio.sh and bench-file.sh: an ext4 file
# system on a loop device over a file in /dev/shm, so that O_DIRECT I/O goes
# through ext4 and the block layer to RAM and a benchmark measures the
# programs rather than a disk shared with other machines. Needs root,
# losetup and mkfs.ext4.
#
#   loop_ext4_mount SIZE   makes and mounts it; sets DIR (the mount point),
#                          loopdev and loopimg
#   loop_ext4_umount       undoes it, if it was made (safe to call twice)

loop_ext4_mount() {
	loopimg=$(mktemp /dev/shm/kaio-bench-XXXXXX.img)
	truncate -s "$1" "$loopimg"
	loopdev=$(losetup -f --show "$loopimg")
	mkfs.ext4 -q "$loopdev"
	DIR=$(mktemp -d /tmp/kaio-bench-mnt-XXXXXX)
	mount "$loopdev" "$DIR"
}

loop_ext4_umount() {
	if [ -n "${loopdev:-}" ]; then
		umount "$DIR" 2>/dev/null || true
		losetup -d "$loopdev" 2>/dev/null || true
		rmdir "$DIR" 2>/dev/null || true
		rm -f "$loopimg"
		loopdev=
	fi
}
