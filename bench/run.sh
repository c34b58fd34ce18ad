#!/usr/bin/env bash
# uml benchmark suite: runs small static guest workloads natively, under uml
# and under gVisor, and prints one markdown table of medians.
# See bench/README.md for what each row measures.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
OUT="$BENCH_DIR/out"
LOGS="$OUT/logs"

# ---------------------------------------------------------------- options
REPS=5
BUILD=1
INSTALL_ANCHORS=0
ONLY_RUNNERS=""
ONLY_ROWS=""
TIMEOUT="${BENCH_TIMEOUT:-120}"   # seconds per guest invocation
STARTUP_RUNS="${STARTUP_RUNS:-20}"
STARTUP_WARMUP="${STARTUP_WARMUP:-3}"
UML_BIN="${UML_BIN:-$ROOT/target/x86_64-unknown-linux-gnu/release/uml}"
UML_MEM="${UML_MEM:-1G}"
UML_ARGS="${UML_ARGS:-}"          # extra args for `uml run`, before `--`
RUNSC_ARGS="${RUNSC_ARGS:-}"      # extra global args for runsc, before `do`

usage() {
	cat <<EOF
usage: bench/run.sh [options]
  --reps N            run each workload N times, report the median (default $REPS)
  --no-build          do not run 'cargo build --release' (use existing uml binary)
  --runners a,b,...   only these runner keys (default: all; see RUNNERS in run.sh)
  --rows g,h,...      only the rows of these guests (e.g. tcpstream,tcprr,tcpconn)
  --install-anchors   run /work/shared/tools/install-anchors.sh first (installs runsc)
  -h, --help          this text
env: UML_BIN UML_MEM (default 1G) UML_ARGS RUNSC_ARGS BENCH_TIMEOUT (s, default 120)
     STARTUP_RUNS (default 20) STARTUP_WARMUP (default 3) RATIO_RUNNER (default uml)
     BENCH_NO_HYPERFINE=1 (time start-up with a bash loop even if hyperfine exists)
EOF
}

while [[ $# -gt 0 ]]; do
	case "$1" in
	--reps) REPS="$2"; shift 2 ;;
	--reps=*) REPS="${1#*=}"; shift ;;
	--no-build) BUILD=0; shift ;;
	--runners) ONLY_RUNNERS="$2"; shift 2 ;;
	--runners=*) ONLY_RUNNERS="${1#*=}"; shift ;;
	--rows) ONLY_ROWS="$2"; shift 2 ;;
	--rows=*) ONLY_ROWS="${1#*=}"; shift ;;
	--install-anchors) INSTALL_ANCHORS=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
	esac
done
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || { echo "--reps needs a positive integer" >&2; exit 2; }

log() { echo "[bench] $*" >&2; }

# The native TCP rows leave what the host learnt of the loopback path (reordering, cwnd)
# in its TCP metrics cache, which later native runs start from (the test suite's
# TCP_INFO comparison among them): forget it when the bench ends, when allowed to.
forget_tcp_metrics() {
	ip tcp_metrics flush all >/dev/null 2>&1 || true
}
trap forget_tcp_metrics EXIT

# ---------------------------------------------------------------- runners
# One line per column: key | column label | command prefix | requirement.
# The prefix is word-split and prepended to the guest command line.
# Requirement: "" (always available), "uml" (needs $UML_BIN), "runsc" (needs
# root and runsc).  Adding a column = adding a line here.
RUNNERS=(
	"native|native||"
	"uml|uml (seccomp)|$UML_BIN run --mem $UML_MEM --trap=seccomp $UML_ARGS --|uml"
	"umlpt|uml (ptrace)|$UML_BIN run --mem $UML_MEM --trap=ptrace $UML_ARGS --|uml"
	"umlsgl|uml (--mm=single)|$UML_BIN run --mem $UML_MEM --mm=single $UML_ARGS --|uml"
	"umlthr|uml (threads)|$UML_BIN run --mem $UML_MEM --deploy=threads $UML_ARGS --|uml"
	"umlrec|uml (record)|$UML_BIN run --mem $UML_MEM --record=$OUT/record.log $UML_ARGS --|uml"
	"umlbase|uml (base)|${UML_BASE_BIN:-} run --mem $UML_MEM $UML_ARGS --|umlbase"
	"systrap|gVisor systrap|runsc --platform=systrap --network=none --ignore-cgroups $RUNSC_ARGS do|runsc"
	"gptrace|gVisor ptrace|runsc --platform=ptrace --network=none --ignore-cgroups $RUNSC_ARGS do|runsc"
)
# The runner whose numbers go into the uml/native ratio column (the default mechanism, seccomp).
RATIO_RUNNER="${RATIO_RUNNER:-uml}"

# ---------------------------------------------------------------- rows
OPEN_FILE="$OUT/openclose.dat"
RW_FILE_BASE="/tmp/uml-bench-rw"
# One line per row: label | guest command (binary in bench/out + args) | result key
# [| most reps: long workloads cap --reps].
# A guest prints `result <key> <value> <unit>` lines; several rows may share
# one guest command (it is run once per rep).  The special guest command
# "@startup <guest>" is timed from outside (wall clock, ms).
ROWS=(
	"getppid loop (ns/call)|getppid 200000|getppid"
	"clock_gettime loop (ns/call)|clockgettime 2000000|clockgettime"
	"page-touch 256 MiB (ns/page)|pagetouch 256|pagetouch"
	"open+close (ns/pair)|openclose $OPEN_FILE 20000|openclose"
	"64 KiB write, 64 MiB (MB/s)|rw $RW_FILE_BASE.@RUNNER@.dat 64|write"
	"64 KiB read, 64 MiB (MB/s)|rw $RW_FILE_BASE.@RUNNER@.dat 64|read"
	"start-up (ms)|@startup true|startup"
	"fork+exit+wait (µs/iter)|forkwait 2000|forkwait"
	"fork+exec+wait of bench/out/true (µs/iter)|forkexec 500 $OUT/true|forkexec"
	"pipe ping-pong (µs/round trip)|pipepong 10000|pipepong"
	"busybox sh, 100 pipelines (ms)|@startup pipelines100|pipelines100"
	# Loopback TCP on 127.0.0.1 (issue 13): gVisor runs with --network=none, its loopback.
	"TCP loopback, 64 KiB writes, 256 MiB (MB/s)|tcpstream 256|tcpstream"
	"TCP 1-byte request/response (µs/round trip)|tcprr 10000|tcprr"
	"TCP connect+accept+close (connections/s)|tcpconn 2000|tcpconn"
	# Dynamically linked host programs (issue 4). Labels cannot contain a pipe
	# character (it separates the fields); bench/README.md has the exact commands.
	"python3 -c 'import json,os,subprocess' (ms)|@startup pystartup|pystartup"
	"gcc -O2 -c hello.c (ms)|@startup gcchello|gcchello"
	"tar cf - /usr/include, gzip -1, wc -c (s)|targzip|targzip|2"
	"find /usr -name '*.h', wc -l (s)|findh|findh|2"
)

if [[ -n "$ONLY_ROWS" ]]; then
	KEPT=()
	for row in "${ROWS[@]}"; do
		IFS='|' read -r _ gcmd _ _ <<<"$row"
		g="${gcmd#@startup }"
		g="${g%% *}"
		[[ ",$ONLY_ROWS," == *",$g,"* ]] && KEPT+=("$row")
	done
	[[ ${#KEPT[@]} -gt 0 ]] || { echo "--rows matched no row" >&2; exit 2; }
	ROWS=("${KEPT[@]}")
fi

# ---------------------------------------------------------------- setup
mkdir -p "$OUT" "$LOGS"
rm -f "$LOGS"/*
cd "$ROOT"

if [[ $INSTALL_ANCHORS -eq 1 ]]; then
	if [[ -x /work/shared/tools/install-anchors.sh ]]; then
		log "running install-anchors.sh"
		/work/shared/tools/install-anchors.sh >&2 || log "install-anchors.sh failed (continuing)"
	else
		log "no /work/shared/tools/install-anchors.sh; skipping"
	fi
fi

log "building guests"
for src in "$BENCH_DIR"/guests/*.c; do
	name="$(basename "$src" .c)"
	cc -static -O2 -Wall -o "$OUT/$name" "$src"
done
echo "uml bench open/close target" > "$OPEN_FILE"

UML_BUILD_STATUS="skipped (--no-build)"
if [[ $BUILD -eq 1 ]]; then
	log "cargo build --release (log: $LOGS/cargo-build.log)"
	if cargo build --release >"$LOGS/cargo-build.log" 2>&1; then
		UML_BUILD_STATUS="ok"
	else
		UML_BUILD_STATUS="FAILED"
		log "cargo build --release failed; uml column will show fail"
	fi
fi

# ---------------------------------------------------------------- helpers
declare -A VALS=()    # "runner|key" -> space separated values
declare -A STATE=()   # "runner|key" -> fail | n/a (absent = ok)
declare -A RSTATE=()  # runner -> ok | n/a | fail
declare -A PREFIX=()  # runner -> prefix string
declare -A LABEL=()
RKEYS=()

median() { # values on stdin, one per line
	sort -g | awk '{v[NR]=$1} END {
		if (NR == 0) exit 1;
		if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2] + v[NR/2+1]) / 2 }'
}

fmt() { # pretty-print a number
	awk -v x="$1" 'BEGIN {
		a = x < 0 ? -x : x;
		if (a >= 100) printf "%.0f", x; else if (a >= 10) printf "%.1f", x; else printf "%.2f", x }'
}

# run_guest RUNNER CMD...: run once under RUNNER; stdout to $RUN_OUT. rc returned.
run_guest() {
	local r="$1"; shift
	local -a pre=()
	read -r -a pre <<<"${PREFIX[$r]}"
	# stdout and stderr go to separate files: runsc does not share the file
	# offset of a dup'ed host fd, so `>f 2>&1` would interleave badly.
	timeout --kill-after=5 "$TIMEOUT" "${pre[@]}" "$@" >"$RUN_OUT" 2>>"$RUN_ERR" </dev/null
}

# startup_ms RUNNER GUEST: median wall time in ms, printed on stdout.
startup_ms() {
	local r="$1" g="$OUT/$2"
	local cmd="${PREFIX[$r]:+${PREFIX[$r]} }$g"
	if have_hyperfine; then
		local json="$LOGS/startup-$r.json"
		hyperfine -N --warmup "$STARTUP_WARMUP" --runs "$STARTUP_RUNS" \
			--export-json "$json" "$cmd" >>"$RUN_ERR" 2>&1 || return 1
		jq -r '.results[0].median * 1000' "$json"
	else
		local -a pre=() t=()
		read -r -a pre <<<"${PREFIX[$r]}"
		local i t0 t1
		for ((i = 0; i < STARTUP_WARMUP + STARTUP_RUNS; i++)); do
			t0=$(date +%s%N)
			timeout "$TIMEOUT" "${pre[@]}" "$g" >/dev/null 2>>"$RUN_ERR" </dev/null || return 1
			t1=$(date +%s%N)
			((i >= STARTUP_WARMUP)) && t+=("$(( t1 - t0 ))")
		done
		printf '%s\n' "${t[@]}" | median | awk '{ print $1 / 1e6 }'
	fi
}

have_hyperfine() {
	[[ -z "${BENCH_NO_HYPERFINE:-}" ]] && command -v hyperfine >/dev/null
}

selected() {
	[[ -z "$ONLY_RUNNERS" ]] && return 0
	[[ ",$ONLY_RUNNERS," == *",$1,"* ]]
}

# ---------------------------------------------------------------- runner availability
for line in "${RUNNERS[@]}"; do
	IFS='|' read -r key label prefix req <<<"$line"
	RKEYS+=("$key")
	LABEL[$key]="$label"
	PREFIX[$key]="$(echo "$prefix" | tr -s ' ' | sed 's/^ //; s/ $//')"
	RSTATE[$key]=ok
	if ! selected "$key"; then RSTATE[$key]="n/a"; continue; fi
	case "$req" in
	uml)
		if [[ "$UML_BUILD_STATUS" == FAILED ]]; then RSTATE[$key]=fail
		elif [[ ! -x "$UML_BIN" ]]; then RSTATE[$key]="n/a"; fi ;;
	umlbase)
		if [[ -z "${UML_BASE_BIN:-}" || ! -x "${UML_BASE_BIN:-}" ]]; then RSTATE[$key]="n/a"; fi ;;
	runsc)
		if [[ $EUID -ne 0 ]] || ! command -v runsc >/dev/null; then RSTATE[$key]="n/a"; fi ;;
	esac
	if [[ ${RSTATE[$key]} == ok ]]; then
		# Smoke test: can this runner run the trivial guest at all?
		RUN_OUT="$LOGS/$key-probe.out" RUN_ERR="$LOGS/$key-probe.err"
		: >"$RUN_ERR"
		if ! run_guest "$key" "$OUT/true"; then
			log "runner $key cannot run a trivial guest (see $RUN_ERR)"
			[[ "$req" == runsc ]] && RSTATE[$key]="n/a" || RSTATE[$key]=fail
		fi
	fi
	log "runner $key: ${RSTATE[$key]}"
done

# ---------------------------------------------------------------- measure
# Row by row, and within a row rep by rep, the runners take turns: every runner's reps of a
# row are spread over the same minutes, so a machine whose speed drifts (shared, nested
# virtualisation) shifts them alike instead of skewing whichever runner ran last.
T_START=$(date +%s)
declare -A DONE=() BROKEN=()
for row in "${ROWS[@]}"; do
	IFS='|' read -r label gcmd0 rkey maxreps <<<"$row"
	[[ -n "${DONE[$gcmd0]:-}" ]] && continue
	DONE[$gcmd0]=1
	reps=$REPS
	[[ -n "$maxreps" && "$maxreps" -lt "$reps" ]] && reps=$maxreps
	read -r -a words0 <<<"$gcmd0"
	# keys produced by this guest command
	keys=()
	for row2 in "${ROWS[@]}"; do
		IFS='|' read -r _ g2 k2 _ <<<"$row2"
		[[ "$g2" == "$gcmd0" ]] && keys+=("$k2")
	done
	if [[ "${words0[0]}" == @startup ]]; then
		for r in "${RKEYS[@]}"; do
			[[ ${RSTATE[$r]} == ok ]] || continue
			RUN_ERR="$LOGS/$r-startup.err"
			: >"$RUN_ERR"
			log "$r: start-up of ${words0[1]} ($STARTUP_RUNS runs)"
			if v=$(startup_ms "$r" "${words0[1]}"); then
				VALS["$r|$rkey"]="$v"
			else
				STATE["$r|$rkey"]=fail
				log "$r: start-up failed (see $RUN_ERR)"
			fi
		done
		continue
	fi
	log "${words0[0]} x$reps, the runners in turn"
	for ((i = 1; i <= reps; i++)); do
		for r in "${RKEYS[@]}"; do
			[[ ${RSTATE[$r]} == ok && -z "${BROKEN[$r]:-}" ]] || continue
			read -r -a words <<<"${gcmd0//@RUNNER@/$r}"
			tag="$r-${words[0]}"
			RUN_ERR="$LOGS/$tag.err"
			((i == 1)) && : >"$RUN_ERR"
			RUN_OUT="$LOGS/$tag.$i.out"
			if ! run_guest "$r" "$OUT/${words[0]}" "${words[@]:1}"; then
				log "$r: ${words[0]} rep $i failed (see $RUN_ERR)"
				for k in "${keys[@]}"; do STATE["$r|$k"]=fail; done
				BROKEN[$r]=1
				continue
			fi
			for k in "${keys[@]}"; do
				v=$(awk -v k="$k" '$1 == "result" && $2 == k { print $3; exit }' "$RUN_OUT")
				if [[ -z "$v" ]]; then
					log "$r: ${words[0]} rep $i printed no '$k' result"
					STATE["$r|$k"]=fail
				else
					VALS["$r|$k"]+="$v "
				fi
			done
		done
	done
	BROKEN=()
done
T_END=$(date +%s)

# ---------------------------------------------------------------- report
cell() { # runner key -> formatted median, "fail" or "n/a"
	local r="$1" k="$2"
	if [[ ${RSTATE[$r]} != ok ]]; then echo "${RSTATE[$r]}"; return; fi
	if [[ -n "${STATE["$r|$k"]:-}" ]]; then echo "${STATE["$r|$k"]}"; return; fi
	local v="${VALS["$r|$k"]:-}"
	[[ -z "$v" ]] && { echo fail; return; }
	fmt "$(tr ' ' '\n' <<<"$v" | grep . | median)"
}
raw_median() {
	local v="${VALS["$1|$2"]:-}"
	[[ -z "$v" || -n "${STATE["$1|$2"]:-}" || ${RSTATE[$1]} != ok ]] && return 1
	tr ' ' '\n' <<<"$v" | grep . | median
}

# Host floors (native only, see bench/guests/hostfloor.c): what the host charges for the
# mechanisms uml is built on, before any work of uml's own.
FLOORS="$("$OUT/hostfloor" 200000 256 2>/dev/null | awk '$1 == "result" { printf "%s %s %s; ", $2, $3, $4 }')"

CPU="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
REPORT="$OUT/results.md"
{
	echo "# uml benchmarks"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC') · kernel \`$(uname -r)\` · CPU: ${CPU:-unknown} ($(nproc) cpus) · reps: $REPS (median) · uml build: $UML_BUILD_STATUS"
	echo
	echo "Runners (command prefix; guests are \`bench/out/<name>\`, built with \`cc -static -O2\`):"
	echo
	for r in "${RKEYS[@]}"; do
		echo "- ${LABEL[$r]} [${RSTATE[$r]}]: \`${PREFIX[$r]:-(none)} <guest> <args>\`"
	done
	echo
	echo "Guest commands:"
	echo
	for row in "${ROWS[@]}"; do
		IFS='|' read -r label gcmd rkey _ <<<"$row"
		if [[ $gcmd == @startup* ]]; then
			if have_hyperfine; then
				echo "- $label: \`hyperfine -N --warmup $STARTUP_WARMUP --runs $STARTUP_RUNS '<prefix> $OUT/${gcmd#@startup }'\` (median)"
			else
				echo "- $label: bash loop, \`date +%s%N\` around \`<prefix> $OUT/${gcmd#@startup }\`, $STARTUP_WARMUP warm-up + $STARTUP_RUNS runs (median)"
			fi
		else
			echo "- $label: \`$OUT/${gcmd//@RUNNER@/<runner>}\` (\`$rkey\` result)"
		fi
	done
	echo
	hdr="| workload |"; sep="|---|"
	for r in "${RKEYS[@]}"; do hdr+=" ${LABEL[$r]} |"; sep+="---:|"; done
	hdr+=" uml/native |"; sep+="---:|"
	echo "$hdr"
	echo "$sep"
	for row in "${ROWS[@]}"; do
		IFS='|' read -r label gcmd rkey _ <<<"$row"
		line="| $label |"
		for r in "${RKEYS[@]}"; do line+=" $(cell "$r" "$rkey") |"; done
		if u=$(raw_median "$RATIO_RUNNER" "$rkey") && n=$(raw_median native "$rkey"); then
			line+=" $(awk -v u="$u" -v n="$n" 'BEGIN { if (n > 0) printf "%.2fx", u / n; else print "n/a" }') |"
		else
			line+=" n/a |"
		fi
		echo "$line"
	done
	echo
	echo "Notes:"
	echo
	echo "- Lower is better except for the MB/s and connections/s rows; uml/native is the plain ratio of the two medians (for those rows < 1 means uml is slower)."
	echo "- The write/read rows use a file under /tmp. Natively that is the host's /tmp; under uml's default overlay root and under gVisor (\`runsc do\` overlay) the writes go to memory, so the rows are not a disk benchmark."
	echo "- getppid, page-touch, open+close and read/write are timed inside the guest with clock_gettime(CLOCK_MONOTONIC) (through the vDSO, natively and under uml: no trap); start-up is wall time measured from outside and includes the runner's own set-up and tear-down."
	echo "- Host floors, measured natively in this run by \`bench/out/hostfloor\` (a seccomp-trapped syscall through SIGSYS and rt_sigreturn with no kernel behind it; first touch of MAP_SHARED memfd pages, which back guest memory, next to private anonymous pages): ${FLOORS:-not measured}"
	echo "- n/a = runner not available (binary missing, not root for runsc, or runsc cannot run here); fail = the workload failed or printed no result (logs in bench/out/logs/)."
	echo "- Measurement wall time: $((T_END - T_START)) s."
} | tee "$REPORT"
log "wrote $REPORT"
