#!/usr/bin/env bash
# What an address-space switch costs under `uml run --mm single`, and the host memory of a
# 50-process guest in each mm backend.
#
# 1. Pipe ping-pong between two processes that each keep M MiB resident (bench/guests/
#    pipepong.c): every round trip is two switches, each rewriting the runner's guest range
#    (single: unmap what the target lacks, map what it maps otherwise; single-lazy: unmap
#    all, the pages fault in again). Printed: µs per round trip per backend and M, medians
#    of REPS.
# 2. Host memory (sum of Pss over uml and its descendants, /proc/PID/smaps_rollup) while a
#    busybox shell runs 50 sleeping processes.
# 3. The host floor of a switch (below).
# Run on an idle machine; quote ratios from one run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UML="${UML_BIN:-$ROOT/target/x86_64-unknown-linux-gnu/release/uml}"
OUT="$ROOT/bench/out"
REPS="${REPS:-5}"
ROUNDS="${ROUNDS:-2000}"
mkdir -p "$OUT"
cc -static -O2 -Wall -o "$OUT/pipepong" "$ROOT/bench/guests/pipepong.c"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "| resident MiB per process | native | per-process | single | single-lazy | single / per-process |"
echo "|---|---|---|---|---|---|"
for mib in 0 1 4 16 64; do
	row="| $mib |"
	declare -A r=()
	for mode in native per-process single single-lazy; do
		for _ in $(seq "$REPS"); do
			if [[ $mode == native ]]; then
				"$OUT/pipepong" "$ROUNDS" "$mib"
			else
				"$UML" run --mm "$mode" -- "$OUT/pipepong" "$ROUNDS" "$mib"
			fi | awk '/^result/ {print $3}'
		done | median > "$OUT/switch.$mode"
		r[$mode]="$(cat "$OUT/switch.$mode")"
		row+=" ${r[$mode]} |"
	done
	row+=" $(awk -v a="${r[single]}" -v b="${r[per-process]}" 'BEGIN {printf "%.2fx", a / b}') |"
	echo "$row"
done
echo
echo "µs per round trip (two switches), medians of $REPS."
echo

# pid and its descendant processes (not threads), one per line.
tree() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ parent[$1] = $2 }
		END {
			print root
			do {
				grew = 0
				for (p in parent) if (!(p in seen) && (parent[p] == root || parent[p] in seen)) {
					seen[p] = 1; grew = 1; print p
				}
			} while (grew)
		}'
}

# Sum of Pss (KiB) of pid and its descendants.
pss_tree() {
	local total=0 p kb
	for p in $(tree "$1"); do
		kb=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		total=$((total + ${kb:-0}))
	done
	echo "$total"
}

echo "| backend | host processes | host Pss (MiB), 50 guest processes |"
echo "|---|---|---|"
for mode in per-process single; do
	"$UML" run --mm "$mode" -- /bin/busybox sh -c 'for i in $(seq 50); do sleep 4 & done; wait' &
	pid=$!
	sleep 2
	n=$(tree "$pid" | wc -l)
	kb=$(pss_tree "$pid")
	wait "$pid"
	echo "| $mode | $n | $((kb / 1024)) |"
done

# 3. The host floor of a switch, natively: K mapping changes made by a thread that sleeps
#    between switches (as the runner's mapper does) while the waking thread spins, T pages
#    touched after; the other process's turn is a 30 µs spin. K=5 is what a pipe ping-pong
#    between a process and its fork changes per switch (`uml replay --service mm --with single`
#    counts them for any run); K=0 is the wake-up alone.
cc -O2 -Wall -pthread -o "$OUT/switchfloor" "$ROOT/bench/guests/switchfloor.c"
echo
echo "Host floor of one switch (natively):"
for k in 0 5 17; do
	"$OUT/switchfloor" "$k" "$k" 30
done
