#!/usr/bin/env bash
# bench-file.sh: kaio.File against os.File and fio, random 4 KiB reads, as
# in docs/performance.md ("kaio.File"). Run from the repository root:
#
#   bash scripts/bench-file.sh                  # a file in the current directory
#   LOOP=3g bash scripts/bench-file.sh          # on a RAM-backed ext4 (root)
#   GS="1 64" MODES=direct REPEAT=3 bash scripts/bench-file.sh
#   SECCOMP=docker LOOP=3g GS=64 MODES=direct bash scripts/bench-file.sh
#
# It builds the root package's test binary, installs fio (Debian's
# package) if it is missing, writes a 1 GiB file once, then for each case
# (page-cached and O_DIRECT; 1, 8, 64 and 512 goroutines) runs, one right
# after the other, REPEAT times in rotated order:
#
#   - BenchmarkFileReadAt (file_bench_test.go) reading through os.File and
#     through kaio.File on each usable engine: G goroutines, each reading
#     4 KiB at random block-aligned offsets drawn from its own seeded
#     generator, so that every reader reads the same offsets. Each run is a
#     process of its own, so that its peak OS thread count is its own.
#   - fio with ioengine=io_uring and libaio, rw=randread, bs=4k,
#     iodepth=G, on the same file (one fio thread; iomem=shm, as
#     bench-fio.sh, for its cached reads).
#
# It prints every sample on stderr and, on stdout, a table of the medians
# (IOPS; allocs/op and peak OS threads for the Go readers) and a table of
# paired ratios: the median over the repeats of the ratio within one
# repeat, which follows the machine's drift better than a ratio of medians.
#
# SECCOMP=docker runs every reader, Go and fio, inside Docker's default
# seccomp profile (internal/dockerseccomp's seccomp-run installs it and
# execs the reader), as in a container where io_uring is refused: kaio.File
# on retry (what auto resolves to there) and native, fio with libaio and
# psync (fio's io_uring is refused too). Issue 13's target is File O_DIRECT
# at 64 goroutines against os.File.
#
# LOOP=SIZE runs everything on an ext4 file system made for the run on a
# loop device over a file in /dev/shm, then removes it: O_DIRECT I/O goes
# through ext4 and the block layer to RAM, so the figures measure the
# readers rather than a disk shared with other machines. Needs root,
# losetup and mkfs.ext4.
set -euo pipefail

DIR=${DIR:-$PWD}
LOOP=${LOOP:-}
REPEAT=${REPEAT:-5}
BENCHTIME=${BENCHTIME:-2s}      # per Go sample (go test -benchtime)
FIOTIME=${FIOTIME:-2}           # seconds per fio sample
GS=${GS:-"1 8 64 512"}          # goroutines (fio: iodepth)
MODES=${MODES:-"cached direct"} # page-cached, O_DIRECT
SECCOMP=${SECCOMP:-}
case $SECCOMP in
"") ENGINES=${ENGINES:-"retry uring native"} FIOS=${FIOS:-"io_uring libaio"} ;;
docker) ENGINES=${ENGINES:-"retry native"} FIOS=${FIOS:-"libaio psync"} ;;
*)
	echo "bench-file.sh: SECCOMP=$SECCOMP: want docker or nothing" >&2
	exit 1
	;;
esac
SIZE=1g

. "$(dirname "$0")/bench-common.sh"
bench_setup
FILE=$DIR/kaio-file-bench.dat

if ! command -v fio >/dev/null; then
	apt-get update -qq && apt-get install -y -qq fio >/dev/null
fi
tmp=$(mktemp -d)
go test -c -o "$tmp/kaio.test" .
bench_seccomp
T=("${IN[@]}" "$tmp/kaio.test") # what runs the Go readers

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(uname -sr); $(nproc) cpus; GOMAXPROCS ${GOMAXPROCS:-$(nproc)}; $(go version | cut -d' ' -f3); fio $(fio --version)"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); file $FILE ($SIZE, $(df -T "$DIR" | awk 'NR==2{print $2}') on $(df "$DIR" | awk 'NR==2{print $1}')${loopdev:+ over $loopimg}); median of $REPEAT${SECCOMP:+; every reader inside the $SECCOMP seccomp profile}"

# The benchmark writes the file (1 GiB, each block stamped with its
# offset) when it is missing.
KAIO_BENCH_FILE=$FILE "${T[@]}" -test.run '^$' -test.bench '^BenchmarkFileReadAt$/^cached/g1/os$' -test.benchtime 1x >/dev/null

usable=()
for e in $ENGINES; do
	out=$(KAIO_BENCH_FILE=$FILE "${T[@]}" -test.run '^$' -test.bench "^BenchmarkFileReadAt\$/^direct/g1/$e\$" -test.benchtime 100x 2>&1 || true)
	if grep -q '^BenchmarkFileReadAt' <<<"$out"; then
		usable+=("$e")
	else
		echo "# kaio engine $e: not usable here (the benchmark skipped it)"
	fi
done
tools=(os)
for e in "${usable[@]}"; do tools+=("kaio-$e"); done
for e in $FIOS; do tools+=("fio-$e"); done

# gobench MODE G KIND: prints "iops allocs threads".
gobench() {
	KAIO_BENCH_FILE=$FILE "${T[@]}" -test.run '^$' -test.bench "^BenchmarkFileReadAt\$/^$1/g$2/$3\$" -test.benchtime "$BENCHTIME" -test.benchmem 2>"$tmp/err" |
		awk '/^BenchmarkFileReadAt/ { for (i = 1; i < NF; i++) { if ($(i+1) == "iops") io = $i; if ($(i+1) == "allocs/op") al = $i; if ($(i+1) == "peak-threads") th = sprintf("%.0f", $i) } } END { print io, al, th }'
}

# fiobench MODE G ENGINE: prints IOPS.
fiobench() {
	local direct=0
	[ "$1" = direct ] && direct=1
	"${IN[@]}" fio --name=bench --filename="$FILE" --size="$SIZE" --ioengine="$3" --rw=randread --bs=4k \
		--iodepth="$2" --direct="$direct" --invalidate=0 --iomem=shm --runtime="$FIOTIME" --time_based \
		--output-format=terse --terse-version=3 2>/dev/null |
		awk -F';' 'NF > 50 && $3 == "bench" { print $8 }'
}

declare -A S # mode/g/tool/repeat -> iops
declare -A A # mode/g/tool -> allocs/op (last run)
declare -A H # mode/g/tool/repeat -> peak threads
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for mode in $MODES; do
	if [ "$mode" = cached ]; then
		cat "$FILE" >/dev/null # in the page cache for every reader
	fi
	for g in $GS; do
		for rep in $(seq "$REPEAT"); do
			n=${#tools[@]}
			for ((k = 0; k < n; k++)); do
				tool=${tools[$(((k + rep) % n))]}
				case $tool in
				os) read -r v al th < <(gobench "$mode" "$g" os) ;;
				kaio-*) read -r v al th < <(gobench "$mode" "$g" "${tool#kaio-}") ;;
				fio-*) v=$(fiobench "$mode" "$g" "${tool#fio-}") al=- th=- ;;
				esac
				S[$mode/$g/$tool/$rep]=$v
				H[$mode/$g/$tool/$rep]=$th
				A[$mode/$g/$tool]=$al
				echo "# $mode g$g $tool repeat $rep: $v IOPS, $al allocs/op, $th threads" >&2
			done
		done
	done
done

med() { # mode g tool [S|H]
	local arr=${4:-S} k
	for k in $(seq "$REPEAT"); do
		if [ "$arr" = S ]; then echo "${S[$1/$2/$3/$k]:-}"; else echo "${H[$1/$2/$3/$k]:-}"; fi
	done | grep -v -- '^-\?$' | median
}
pratio() { # mode g A B: median over repeats of A/B within the repeat
	local k
	for k in $(seq "$REPEAT"); do
		awk -v a="${S[$1/$2/$3/$k]:-}" -v b="${S[$1/$2/$4/$k]:-}" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.4f\n", a / b }'
	done | median | awk '{ printf "%.2f", $1 }'
}
k() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else printf "%.0fk", v / 1000 }'; }

echo
printf '| case | G |'
for t in "${tools[@]}"; do printf ' %s |' "$t"; done
printf '\n|---|---|'
for t in "${tools[@]}"; do printf -- '---|'; done
echo
for mode in $MODES; do
	for g in $GS; do
		printf '| %s | %s |' "$mode" "$g"
		for t in "${tools[@]}"; do printf ' %s |' "$(k "$(med "$mode" "$g" "$t")")"; done
		echo
	done
done

echo
echo "Paired ratios (median over the $REPEAT repeats of the ratio within each repeat); allocs/op and peak OS threads (median) of the Go readers."
echo
printf '| case | G |'
for e in "${usable[@]}"; do
	printf ' %s / os |' "$e"
	for x in $FIOS; do printf ' %s / fio %s |' "$e" "$x"; done
done
printf ' allocs/op (os'
for e in "${usable[@]}"; do printf ', %s' "$e"; done
printf ') | peak threads (os'
for e in "${usable[@]}"; do printf ', %s' "$e"; done
printf ') |\n|---|---|'
for e in "${usable[@]}"; do
	printf -- '---|'
	for x in $FIOS; do printf -- '---|'; done
done
printf -- '---|---|\n'
for mode in $MODES; do
	for g in $GS; do
		printf '| %s | %s |' "$mode" "$g"
		for e in "${usable[@]}"; do
			printf ' %s |' "$(pratio "$mode" "$g" "kaio-$e" os)"
			for x in $FIOS; do printf ' %s |' "$(pratio "$mode" "$g" "kaio-$e" "fio-$x")"; done
		done
		printf ' %s' "${A[$mode/$g/os]}"
		for e in "${usable[@]}"; do printf ', %s' "${A[$mode/$g/kaio-$e]}"; done
		printf ' | %s' "$(med "$mode" "$g" os H)"
		for e in "${usable[@]}"; do printf ', %s' "$(med "$mode" "$g" "kaio-$e" H)"; done
		echo ' |'
	done
done
echo
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# Go: ${T[*]} -test.bench '^BenchmarkFileReadAt\$/^MODE/gG/READER\$' -test.benchtime $BENCHTIME -test.benchmem, KAIO_BENCH_FILE=$FILE"
echo "# fio: ${IN[*]}${IN:+ }fio --name=bench --filename=$FILE --size=$SIZE --ioengine=${FIOS// /|} --rw=randread --bs=4k --iodepth=G --direct=0|1 --invalidate=0 --iomem=shm --runtime=$FIOTIME --time_based"
