#!/usr/bin/env bash
# bench-fio.sh: kaio's aio-stress side by side with fio on the same file,
# as in docs/perf-aio-stress.md. Run from the repository root:
#
#   bash scripts/bench-fio.sh                  # 1 GiB file in the current directory
#   SIZE=256m DIR=/mnt/test bash scripts/bench-fio.sh
#
# It builds cmd/aio-stress, installs fio (Debian's package) if it is
# missing, writes the file once, then for each case runs aio-stress on each
# kaio engine that is usable and fio with ioengine=libaio, io_uring and
# psync, and prints MB/s (MiB/s) and the ratios. Nothing else is built or
# downloaded.
#
# Cases (all on one file of SIZE):
#   64 KiB records, depth 64, buffered and O_DIRECT: write, read, random
#   write, random read (aio-stress's four stages, one run per engine).
#   4 KiB random reads, depth 32, O_DIRECT.
#
# What is compared: aio-stress's "<stage> on <file>" figure (first
# submission to last completion, no fsync; io_mb_per_s in -json) with fio's
# bandwidth for the same rw, bs, iodepth and direct, invalidate=0 so that
# buffered reads come from the page cache in both tools (aio-stress reads
# what it has just written). fio psync ignores iodepth: it is depth 1.
set -euo pipefail

SIZE=${SIZE:-1g}
DIR=${DIR:-$PWD}
ENGINES=${ENGINES:-"retry uring native"}
RUNTIME=${RUNTIME:-30} # seconds: caps a slow fio job (psync at depth 1); its rate stays valid
FILE=$DIR/kaio-bench.dat

if ! command -v fio >/dev/null; then
	apt-get update -qq && apt-get install -y -qq fio >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; rm -f "$FILE"' EXIT
go build -o "$tmp/aio-stress" ./cmd/aio-stress
AS=$tmp/aio-stress

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(uname -sr); $(nproc) cpus; fio $(fio --version)"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); file $FILE ($SIZE, $(df -T "$DIR" | awk 'NR==2{print $2}'))"

# Lay the file out once, so that every write below overwrites.
"$AS" -E retry -s "$SIZE" -o 0 "$FILE" >/dev/null 2>&1

usable=()
for e in $ENGINES; do
	if "$AS" -E "$e" -s 4m -r 4k -o 1 -n "$FILE" >/dev/null 2>"$tmp/err"; then
		usable+=("$e")
	else
		echo "# kaio engine $e: $(cat "$tmp/err")"
	fi
done

# kaio ENGINE ARGS...: prints "stage io_mb_per_s" per stage.
kaio() {
	local e=$1
	shift
	"$AS" -E "$e" -s "$SIZE" -json "$@" "$FILE" 2>"$tmp/kaio.err" |
		sed -E 's/.*"stage":"([^"]*)".*"io_mb_per_s":([0-9.e+-]+).*/\1=\2/' | tr ' ' _
}

# fio IOENGINE RW BS DEPTH DIRECT: prints MiB/s.
fio_run() {
	fio --name=bench --filename="$FILE" --size="$SIZE" --ioengine="$1" --rw="$2" --bs="$3" \
		--iodepth="$4" --direct="$5" --invalidate=0 --runtime="$RUNTIME" --output-format=terse --terse-version=3 2>/dev/null |
		awk -F';' -v rw="$2" 'NF > 50 { kib = (rw ~ /write/) ? $48 : $7; printf "%.1f\n", kib / 1024 }'
	# aio-stress fsyncs between its stages (not counted in its figure):
	# do the same, or the next fio job runs against the writeback of this
	# one's dirty pages (a buffered read then measures at a quarter).
	sync "$FILE"
}

declare -A R
fios=(libaio io_uring psync)
stages=(write read random_write random_read)
fiorw=(write read randwrite randread)

case_run() { # NAME BS DEPTH DIRECT STAGE-FLAGS...
	local name=$1 bs=$2 depth=$3 direct=$4
	shift 4
	local dflag=()
	[ "$direct" = 1 ] && dflag=(-O)
	for e in "${usable[@]}"; do
		for kv in $(kaio "$e" -r "$bs" -d "$depth" "${dflag[@]}" "$@"); do
			R[$name/${kv%%=*}/kaio-$e]=$(awk -v v="${kv#*=}" 'BEGIN { printf "%.1f", v }')
		done
	done
	for i in 0 1 2 3; do
		local st=${stages[$i]}
		[ -n "${R[$name/$st/kaio-${usable[0]}]:-}" ] || continue
		for f in "${fios[@]}"; do
			R[$name/$st/fio-$f]=$(fio_run "$f" "${fiorw[$i]}" "$bs" "$depth" "$direct")
		done
	done
}

case_run 64k-buffered 64k 64 0
case_run 64k-direct 64k 64 1
# 4 KiB random reads only (the file is already written).
case_run 4k-direct-d32 4k 32 1 -o 3

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }

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
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# aio-stress: $AS -E ENGINE -s $SIZE -json -r BS -d DEPTH [-O] [-o 3] $FILE"
echo "# fio: fio --name=bench --filename=$FILE --size=$SIZE --ioengine=E --rw=RW --bs=BS --iodepth=DEPTH --direct=D --invalidate=0 --runtime=$RUNTIME"
