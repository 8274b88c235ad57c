#!/usr/bin/env bash
# bench-fio.sh: kaio's aio-stress side by side with fio on the same file,
# as in docs/performance.md. Run from the repository root:
#
#   bash scripts/bench-fio.sh                  # a file in the current directory
#   SIZE=256m BUF_SIZE=1g REPEAT=1 DIR=/mnt/test bash scripts/bench-fio.sh
#   LOOP=3g bash scripts/bench-fio.sh          # on a RAM-backed block device (root)
#   SECCOMP=docker LOOP=3g bash scripts/bench-fio.sh   # inside Docker's seccomp profile
#
# It builds cmd/aio-stress, installs fio (Debian's package) if it is
# missing, writes the file once, then for each case and stage runs
# aio-stress on each kaio engine that is usable and fio with
# ioengine=libaio, io_uring and psync, one right after the other, REPEAT
# times in rotated order; it prints every sample on stderr and a table of
# the medians (MiB/s, which aio-stress calls MB/s) and their ratios on
# stdout. Nothing else is built or downloaded.
#
# Cases (all on one file; the first BUF_SIZE bytes of it for buffered runs,
# which end in a few tenths of a second and need the length to be timed,
# the first SIZE bytes for O_DIRECT ones):
#   64 KiB records, depth 64, buffered and O_DIRECT: write, read, random
#   write, random read (aio-stress's four stages, each run alone with -o N).
#   4 KiB random reads, depth 32, O_DIRECT.
#
# What is compared: aio-stress's "<stage> on <file>" figure (first
# submission to last completion, without the fsync that follows; its
# io_mb_per_s in -json) with fio's bandwidth for the same rw, bs, iodepth
# and direct, invalidate=0 so that buffered reads come from the page cache
# in both tools, and a sync of the file after each fio job as aio-stress
# fsyncs after each stage. fio psync ignores iodepth: it is depth 1.
#
# Random stages: aio-stress's offsets are page aligned (its -a, 4 KiB by
# default) and drawn with glibc rand(), so a record may be touched twice
# or not at all; fio's default random job aligns to the record size and
# touches each block once. The fio random jobs here take aio-stress's
# pattern: --blockalign=4k --norandommap. (64 KiB buffered random writes
# off a 64 KiB boundary run about a fifth slower on ext4, in fio as in
# aio-stress: each spans two of its large folios.)
#
# SECCOMP=docker runs both tools inside Docker's default seccomp profile,
# as in a container where io_uring is refused (internal/dockerseccomp's
# seccomp-run installs it and execs the tool): aio-stress on the engines
# of ENGINES (default auto, which resolves to retry there), fio with
# libaio and psync (its io_uring is refused too). fio runs inside the
# filter as well, so that both pay the same per-syscall filter cost
# (nothing, for syscalls the profile allows whatever their arguments:
# the kernel caches those verdicts). The tables then compare auto with
# fio libaio (O_DIRECT) and fio psync (buffered), issue 13's targets.
#
# LOOP=SIZE runs everything on an ext4 file system made for the run on a
# loop device over a file in /dev/shm, then removes it. O_DIRECT I/O then
# goes through the block layer to RAM: the figures measure the tools and
# engines rather than a disk shared with other machines (a virtio disk in
# the cloud swings by 2x from one second to the next). Needs root, losetup
# and mkfs.ext4.
set -euo pipefail

SIZE=${SIZE:-1g}
BUF_SIZE=${BUF_SIZE:-2g} # under dirty_background_ratio (10% of 24 GiB): writeback does not start mid-run
DIR=${DIR:-$PWD}
SECCOMP=${SECCOMP:-}
case $SECCOMP in
"") ENGINES=${ENGINES:-"retry uring native"} ;;
docker) ENGINES=${ENGINES:-auto} ;;
*)
	echo "bench-fio.sh: SECCOMP=$SECCOMP: want docker or nothing" >&2
	exit 1
	;;
esac
# FIO_BATCH=8 gives fio aio-stress's own batching (submit 8, reap at least
# 8: --iodepth_batch_submit and --iodepth_batch_complete_min), which
# compares the engines rather than the tools' submission patterns; the
# default (empty) is fio's own, one at a time.
FIO_BATCH=${FIO_BATCH:-}
RUNTIME=${RUNTIME:-15} # seconds: caps a slow fio job (psync at depth 1); its rate stays valid
REPEAT=${REPEAT:-3}   # runs of each tool per stage; the table shows the median
# fio's io buffers. Its default (malloc) makes page-cache reads about four
# times slower on Linux 6.18/ext4 here: a 64 KiB pread into them takes
# 30 us at iodepth 8 against 13 us at iodepth 1 (strace -c), and
# 1.0-1.3 GB/s against 3.5-7 GB/s with iomem=shm. aio-stress's buffers do
# not suffer from it, so the fairer comparison is with shm.
FIO_IOMEM=${FIO_IOMEM:-shm}
LOOP=${LOOP:-}

. "$(dirname "$0")/bench-common.sh"
bench_setup
FILE=$DIR/kaio-bench.dat

if ! command -v fio >/dev/null; then
	apt-get update -qq && apt-get install -y -qq fio >/dev/null
fi
tmp=$(mktemp -d)
go build -o "$tmp/aio-stress" ./cmd/aio-stress
bench_seccomp
AS=("${IN[@]}" "$tmp/aio-stress")

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(uname -sr); $(nproc) cpus; fio $(fio --version)"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); file $FILE ($BUF_SIZE buffered, $SIZE O_DIRECT, $(df -T "$DIR" | awk 'NR==2{print $2}') on $(df "$DIR" | awk 'NR==2{print $1}')${loopdev:+ over $loopimg}); median of $REPEAT${SECCOMP:+; both tools inside the $SECCOMP seccomp profile}"

# Lay the file out once, so that every write below overwrites.
if ! "${AS[@]}" -E retry -s "$BUF_SIZE" -o 0 "$FILE" >/dev/null 2>"$tmp/err"; then
	cat "$tmp/err" >&2
	exit 1
fi

usable=()
for e in $ENGINES; do
	if "${AS[@]}" -E "$e" -s 4m -r 4k -o 1 -n "$FILE" >/dev/null 2>"$tmp/err"; then
		usable+=("$e")
	else
		echo "# kaio engine $e: $(cat "$tmp/err")"
	fi
done

# kaio ENGINE SIZE ARGS...: prints "stage=io_mb_per_s" per stage.
kaio() {
	local e=$1 size=$2
	shift 2
	"${AS[@]}" -E "$e" -s "$size" -json "$@" "$FILE" 2>"$tmp/kaio.err" |
		sed -E 's/.*"stage":"([^"]*)".*"io_mb_per_s":([0-9.e+-]+).*/\1=\2/' | tr ' ' _
}

# fio_run IOENGINE RW BS DEPTH DIRECT SIZE: prints MiB/s.
fio_run() {
	local rand=()
	case $2 in rand*) rand=(--blockalign=4k --norandommap) ;; esac
	"${IN[@]}" fio "${rand[@]}" --name=bench --filename="$FILE" --size="$6" --ioengine="$1" --rw="$2" --bs="$3" \
		--iodepth="$4" ${FIO_BATCH:+--iodepth_batch_submit=$FIO_BATCH --iodepth_batch_complete_min=$FIO_BATCH} --direct="$5" --invalidate=0 --iomem="$FIO_IOMEM" --runtime="$RUNTIME" --output-format=terse --terse-version=3 2>/dev/null |
		awk -F';' -v rw="$2" 'NF > 50 && $3 == "bench" { kib = (rw ~ /write/) ? $48 : $7; printf "%.1f\n", kib / 1024 }'
	# aio-stress fsyncs between its stages (not counted in its figure):
	# do the same, or the next fio job runs against the writeback of this
	# one's dirty pages (a buffered read then measures at a quarter).
	sync "$FILE"
}

declare -A R # case/stage/tool -> MiB/s, the median over the repeats
declare -A S # case/stage/tool/repeat -> MiB/s, one sample
fios=(libaio io_uring psync)
[ -n "$SECCOMP" ] && fios=(libaio psync)
stages=(write read random_write random_read)
fiorw=(write read randwrite randread)

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# case_run NAME BS DEPTH DIRECT STAGE...: each stage on its own (aio-stress
# -o N), every tool one after the other, REPEAT times in rotated order, so
# that the tools of a row share the same background load as far as can be.
case_run() {
	local name=$1 bs=$2 depth=$3 direct=$4 size=$BUF_SIZE
	shift 4
	local dflag=()
	[ "$direct" = 1 ] && dflag=(-O) && size=$SIZE
	local tools=()
	for e in "${usable[@]}"; do tools+=("kaio-$e"); done
	for f in "${fios[@]}"; do tools+=("fio-$f"); done
	for i in "$@"; do
		local st=${stages[$i]}
		: >"$tmp/samples"
		for rep in $(seq "$REPEAT"); do
			local n=${#tools[@]} k
			for ((k = 0; k < n; k++)); do
				local tool=${tools[$(((k + rep) % n))]} v
				case $tool in
				kaio-*) v=$(kaio "${tool#kaio-}" "$size" -r "$bs" -d "$depth" "${dflag[@]}" -o "$i" | sed -n 's/.*=//p') ;;
				fio-*) v=$(fio_run "${tool#fio-}" "${fiorw[$i]}" "$bs" "$depth" "$direct" "$size") ;;
				esac
				echo "$tool $v" >>"$tmp/samples"
				S[$name/$st/$tool/$rep]=$v
			done
		done
		for tool in "${tools[@]}"; do
			R[$name/$st/$tool]=$(awk -v t="$tool" '$1 == t && $2 != "" { print $2 }' "$tmp/samples" | median | awk '{ printf "%.1f", $1 }')
			echo "# $name $st $tool: $(awk -v t="$tool" '$1 == t { printf "%s ", $2 }' "$tmp/samples")" >&2
		done
	done
}

case_run 64k-buffered 64k 64 0 0 1 2 3
case_run 64k-direct 64k 64 1 0 1 2 3
# 4 KiB random reads only (the file is already written).
case_run 4k-direct-d32 4k 32 1 3

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }

# pratio CASE STAGE A B: the median over the repeats of A's sample over
# B's in the same repeat. The tools of a repeat run one right after the
# other, so this follows the machine's drift better than a ratio of medians.
pratio() {
	local k
	for k in $(seq "$REPEAT"); do
		ratio "${S[$1/$2/$3/$k]:-}" "${S[$1/$2/$4/$k]:-}"
		echo
	done | grep -v -- - | median | awk '{ printf "%.2f", $1 }'
}

# argbest CASE STAGE TOOL...: the tool with the highest median.
argbest() {
	local name=$1 st=$2 b="" bv=0 t
	shift 2
	for t in "$@"; do
		[ -n "${R[$name/$st/$t]:-}" ] || continue
		if awk -v a="${R[$name/$st/$t]}" -v b="$bv" 'BEGIN { exit !(a > b) }'; then b=$t bv=${R[$name/$st/$t]}; fi
	done
	echo "$b"
}

if [ -n "$SECCOMP" ]; then
	# Inside the profile: each engine against fio libaio, the target of
	# the O_DIRECT cases, and fio psync, that of the buffered ones.
	echo
	echo "Inside Docker's default seccomp profile ($SECCOMP), both tools. Medians, MiB/s, and the ratios of the medians; paired: the median over the $REPEAT repeats of the ratio within each repeat."
	echo
	printf '| case | stage |'
	for e in "${usable[@]}"; do printf ' kaio-%s |' "$e"; done
	printf ' fio-libaio | fio-psync |'
	for e in "${usable[@]}"; do printf ' %s / fio libaio (paired) | %s / fio psync (paired) |' "$e" "$e"; done
	echo
	printf '|---|---|'
	for c in "${usable[@]}" x x "${usable[@]}" "${usable[@]}"; do printf -- '---|'; done
	echo
	for name in 64k-buffered 64k-direct 4k-direct-d32; do
		for st in "${stages[@]}"; do
			[ -n "${R[$name/$st/kaio-${usable[0]}]:-}" ] || continue
			printf '| %s | %s |' "$name" "${st//_/ }"
			for e in "${usable[@]}"; do printf ' %s |' "${R[$name/$st/kaio-$e]:--}"; done
			printf ' %s | %s |' "${R[$name/$st/fio-libaio]:--}" "${R[$name/$st/fio-psync]:--}"
			for e in "${usable[@]}"; do
				printf ' %s (%s) | %s (%s) |' \
					"$(ratio "${R[$name/$st/kaio-$e]:-}" "${R[$name/$st/fio-libaio]:-}")" "$(pratio "$name" "$st" "kaio-$e" fio-libaio)" \
					"$(ratio "${R[$name/$st/kaio-$e]:-}" "${R[$name/$st/fio-psync]:-}")" "$(pratio "$name" "$st" "kaio-$e" fio-psync)"
			done
			echo
		done
	done
	echo
	echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# aio-stress: seccomp-run -policy $SECCOMP aio-stress -E ENGINE -s $BUF_SIZE|$SIZE -json -r BS -d DEPTH [-O] -o STAGE $FILE"
	echo "# fio: seccomp-run -policy $SECCOMP fio --name=bench --filename=$FILE --size=$BUF_SIZE|$SIZE --ioengine=libaio|psync --rw=RW --bs=BS --iodepth=DEPTH ${FIO_BATCH:+--iodepth_batch_submit=$FIO_BATCH --iodepth_batch_complete_min=$FIO_BATCH }--direct=0|1 --invalidate=0 --iomem=$FIO_IOMEM --runtime=$RUNTIME [--blockalign=4k --norandommap for rand*]; sync $FILE"
	exit 0
fi

cols=()
for e in "${usable[@]}"; do cols+=("kaio-$e"); done
for f in "${fios[@]}"; do cols+=("fio-$f"); done
echo
printf '| case | stage |'
for c in "${cols[@]}"; do printf ' %s |' "$c"; done
printf ' best kaio / best fio async | uring / fio io_uring | native / fio libaio | retry / best fio async |\n|---|---|'
for c in "${cols[@]}" x x x x; do printf -- '---|'; done
echo
for name in 64k-buffered 64k-direct 4k-direct-d32; do
	for st in "${stages[@]}"; do
		[ -n "${R[$name/$st/kaio-${usable[0]}]:-}" ] || continue
		printf '| %s | %s |' "$name" "${st//_/ }"
		best=0
		for e in "${usable[@]}"; do
			v=${R[$name/$st/kaio-$e]}
			best=$(awk -v a="$best" -v b="$v" 'BEGIN { print (b > a) ? b : a }')
		done
		for c in "${cols[@]}"; do printf ' %s |' "${R[$name/$st/$c]:--}"; done
		fbest=$(awk -v a="${R[$name/$st/fio-libaio]}" -v b="${R[$name/$st/fio-io_uring]}" 'BEGIN { print (b > a) ? b : a }')
		printf ' %s | %s | %s | %s |\n' "$(ratio "$best" "$fbest")" \
			"$(ratio "${R[$name/$st/kaio-uring]:-}" "${R[$name/$st/fio-io_uring]}")" \
			"$(ratio "${R[$name/$st/kaio-native]:-}" "${R[$name/$st/fio-libaio]}")" \
			"$(ratio "${R[$name/$st/kaio-retry]:-}" "$fbest")"
	done
done
echo
echo "Paired: the median over the $REPEAT repeats of the ratio within each repeat."
echo
echo '| case | stage | best kaio / best fio async | uring / fio io_uring | native / fio libaio | retry / best fio async |'
echo '|---|---|---|---|---|---|'
for name in 64k-buffered 64k-direct 4k-direct-d32; do
	for st in "${stages[@]}"; do
		[ -n "${R[$name/$st/kaio-${usable[0]}]:-}" ] || continue
		kb=$(argbest "$name" "$st" "${cols[@]/#fio-*/}")
		fb=$(argbest "$name" "$st" fio-libaio fio-io_uring)
		printf '| %s | %s | %s (%s / %s) | %s | %s | %s |\n' "$name" "${st//_/ }" \
			"$(pratio "$name" "$st" "$kb" "$fb")" "${kb#kaio-}" "${fb#fio-}" \
			"$(pratio "$name" "$st" kaio-uring fio-io_uring)" \
			"$(pratio "$name" "$st" kaio-native fio-libaio)" \
			"$(pratio "$name" "$st" kaio-retry "$fb")"
	done
done
echo
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# aio-stress: aio-stress -E ENGINE -s $BUF_SIZE|$SIZE -json -r BS -d DEPTH [-O] -o STAGE $FILE"
echo "# fio: fio --name=bench --filename=$FILE --size=$BUF_SIZE|$SIZE --ioengine=E --rw=RW --bs=BS --iodepth=DEPTH ${FIO_BATCH:+--iodepth_batch_submit=$FIO_BATCH --iodepth_batch_complete_min=$FIO_BATCH }--direct=0|1 --invalidate=0 --iomem=$FIO_IOMEM --runtime=$RUNTIME [--blockalign=4k --norandommap for rand*]; sync $FILE"
