#!/usr/bin/env bash
# The example functions (functions/) against native, in one run with alternation: the measure
# behind issue 11's "the example functions stay at or below 1.05x native".
#
#   native gcc    bench-paper's floor: build/bench-paper/<fn>.loop, the function's main (gcc -O2)
#                 called in a loop in one process, each call timed from entry to return
#   native clang  the same loop from objects of clang-19 -O2 for x86-64 (the wasm's compiler)
#   native musl   the same loop from objects of musl-gcc -O2 (bench/functions.mk): musl is the C
#                 library wasi-libc is made from, so this side runs the same C as the wasm, its
#                 C library included (glibc's string functions are SIMD code of their own)
#   mote exec     X-Mote-Exec-Us of `mote serve --dev` calls (sequential, one connection), the
#                 functions deployed as bench/paper.sh deploys them, on the opt tier: _start of
#                 a fresh instance made from the snapshot, i.e. wasi-libc's start-up + main + exit
#   _start floor  X-Mote-Exec-Us of empty.wasm (bench/programs/empty.c: main returns at once)
#                 called with the same arguments and body: what mote exec holds beyond main
#   in-process    the exec time of the same runs without a server: invoke-loop
#                 (bench/invoke_loop.c) runs the function through mote_invoke_run back to back
#                 in one process, from the same cache, as the native loops run theirs. mote exec
#                 against in-process is what serving costs the run itself: between two served
#                 calls the HTTP path, curl and the idle wait leave the core's caches colder
#
# Each round runs RUNS calls of each, in that order (in-process last); ROUNDS rounds per
# function. Each batch's first call is untimed: the native loop's loads what mote's snapshot
# holds (recognize's weights), mote's follows curl's start. An untimed batch of the mote ones comes first (a new server's
# first calls fault the snapshot's pages in).
# Figures: median (p10-p90) in us of all calls, then ratios of medians. "paper" is mote exec /
# native gcc, the ratio bench-paper reports; "like for like" takes the _start floor's median
# off mote exec first, so both sides time main only; the ratios to musl run the same C library
# (its malloc aside). Then the ratios of the p10s: on a host whose calls run at two speeds
# (bench/README.md, "lpr's two speeds") the medians depend on which speed each side's batches
# hit, the p10s compare the faster one. Every loop's answer is compared with native's first.
#
# usage: bench/functions.sh [BUILD_DIR]      (make bench-functions; RUNS=20 ROUNDS=10, DATA=dir)
# Writes bench/out/functions.txt. Needs make bench-functions-tools, curl, jq, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
here=$PWD
runs=${RUNS:-20}
rounds=${ROUNDS:-10}
fn=$here/$build/functions
gcc_loops=$here/$build/bench-paper
bfn_dir=$here/$build/bench-functions # the clang and musl loops, empty.wasm
out=$here/bench/out
for tool in curl jq python3; do
  command -v "$tool" >/dev/null || { echo "bench-functions: $tool is missing: run scripts/deps.sh --bench" >&2; exit 1; }
done
. bench/lib.sh
functions=(lpr resize recognize)

work=$(mktemp -d /tmp/mote-bench-functions-XXXXXX)
mote_pid=
cleanup() {
  if [ -n "$mote_pid" ]; then kill "$mote_pid" 2>/dev/null || true; wait "$mote_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "bench-functions: $*" >&2; }
mkdir -p "$out"

# The inputs of bench/paper.sh: a body file (- for none) and the arguments.
declare -A body args
body[lpr]=-;                                        args[lpr]=QQ9999Q
body[resize]=$fn/images/china.jpg;                  args[resize]=50
body[recognize]=$fn/recognize-samples/sample-0.pgm; args[recognize]=
query() { local q='' a; for a in ${args[$1]}; do q="$q${q:+&}arg=$a"; done; echo "${q:+?$q}"; }
stdin_of() { [ "${body[$1]}" = - ] && echo /dev/null || echo "${body[$1]}"; }
# lpr and recognize are bundles with their files (their folder is not empty); resize is a module.
bundle() { [ -d "$fn/$1" ] && [ -n "$(ls "$fn/$1")" ]; }
# N runs of F through invoke-loop, from the server's cache; their exec times appended to OUT.
inproc_calls() { # F N OUT [--answer FILE]
  local files=-
  bundle "$1" && files=$fn/$1
  # shellcheck disable=SC2086 # args are words
  MOTE_CACHE=$data/cache "$here/$build/bench-functions/invoke-loop" "${@:4}" "$2" "$files" \
    "$(stdin_of "$1")" "$fn/$1.wasm" ${args[$1]} >>"$3"
}

# ---- the server, the functions deployed as bench/paper.sh does ------------------------------
# The data folder (the compile cache) is kept between runs: a redeploy is then a cache hit.
# DATA names another (e.g. for a run with MOTE_CC, the opt tier's compiler, set).
data=${DATA:-$here/$build/bench-functions/mote-data}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
auth=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
# shellcheck disable=SC2046 # bench_no_metrics is zero or two words
"$here/$build/mote" serve --dev --listen "127.0.0.1:$port" $(bench_no_metrics "$build") --data "$data" >"$work/mote.log" 2>&1 &
mote_pid=$!
for _ in $(seq 300); do curl -fs "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$url/healthz" >/dev/null || { log "mote serve did not start: $(tail -3 "$work/mote.log")"; exit 1; }
deploy() { # NAME FILE TYPE
  local status
  status=$(curl -s -u "$auth" -o "$work/deploy-$1.json" -w '%{http_code}' -X PUT -H "Content-Type: $3" \
    --data-binary @"$2" "$url/v1/functions/$1?public=true")
  case $status in 200|201) ;; *) log "deploying $1 answered $status: $(head -c 300 "$work/deploy-$1.json")"; exit 1 ;; esac
}
for f in "${functions[@]}"; do
  if bundle "$f"; then
    bench_bundle "$fn" "$f" "$work/$f.tar.gz"
    deploy "$f" "$work/$f.tar.gz" application/gzip
  else                                                   # resize: the module alone
    deploy "$f" "$fn/$f.wasm" application/wasm
  fi
done
deploy empty "$bfn_dir/empty.wasm" application/wasm
for f in "${functions[@]}" empty; do
  bench_wait_opt "$url" "$auth" "$f" || { log "$f never reached the opt tier"; exit 1; }
done

# What the opt tier compiled for: mote compile's report on the same modules (a hit in the
# server's cache). Builds before the ISA was reported compiled for the baseline x86-64.
isas=
for f in "${functions[@]}"; do
  line=$(MOTE_CACHE=$data/cache "$here/$build/mote" compile --tier opt "$fn/$f.wasm" | tail -1)
  i=$(echo "$line" | sed -n 's/.*; isa \([^ )]*\).*/\1/p')
  isas="$isas ${i:-none}"
done
isa=$(echo "$isas" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
case $isa in
  "none ") isa="not in mote compile's report (a build before it: the baseline x86-64, no -march)" ;;
esac

# Every side gives the same answer before anything is timed.
for f in "${functions[@]}"; do
  # shellcheck disable=SC2086 # args are words
  (cd "$fn/$f" && "$fn/$f.native" ${args[$f]} <"$(stdin_of "$f")" >"$work/native-$f.out")
  if [ "${body[$f]}" = - ]; then
    curl -fs -o "$work/mote-$f.out" "$url/faas/$f$(query "$f")"
  else
    curl -fs -o "$work/mote-$f.out" --data-binary @"${body[$f]}" "$url/faas/$f$(query "$f")"
  fi
  cmp -s "$work/native-$f.out" "$work/mote-$f.out" || { log "$f: mote's answer differs from native's"; exit 1; }
  inproc_calls "$f" 1 /dev/null --answer "$work/inproc-$f.out"
  cmp -s "$work/native-$f.out" "$work/inproc-$f.out" ||
    { log "$f: invoke-loop's answer differs from native's"; exit 1; }
  for loop in "$gcc_loops/$f.loop" "$bfn_dir/$f.clang.loop" "$bfn_dir/$f.musl.loop"; do
    # shellcheck disable=SC2086 # args are words
    NATIVE_LOOP_ANSWER=$work/loop-$f.out "$loop" 1 "$fn/$f" "$(stdin_of "$f")" ${args[$f]} >/dev/null
    cmp -s "$work/native-$f.out" "$work/loop-$f.out" ||
      { log "$f: the answer of $(basename "$loop") differs from native's"; exit 1; }
  done
done

# ---- the rounds ---------------------------------------------------------------------------
# 1 + N sequential calls of function NAME on one connection (curl reuses it), with F's inputs;
# appends the X-Mote-Exec-Us of the last N to OUT and their X-Mote-Init-Us to OUT.init. The first
# is untimed, as the native loop's: it follows curl's start, and a process started between calls
# costs recognize's next call ~10 us of cold caches on this 2-core VM (so does not one curl per
# call). A call that is not 200 on the opt tier stops the run.
mote_calls() { # NAME F N OUT
  local urls=() i data_arg=()
  for i in $(seq $(($3 + 1))); do urls+=("$url/faas/$1$(query "$2")"); done
  [ "${body[$2]}" = - ] || data_arg=(--data-binary @"${body[$2]}")
  curl -s -D "$work/headers" "${data_arg[@]}" "${urls[@]}" >/dev/null ||
    { log "$1: curl failed (status $?); the server's log: $(tail -3 "$work/mote.log")"; exit 1; }
  tr -d '\r' <"$work/headers" | awk -v name="$1" -v want="$(($3 + 1))" -v out="$4" '
    /^HTTP\// { n++; if ($2 != 200) bad = bad " status " $2 }
    tolower($1) == "x-mote-tier:" && $2 != "opt" { bad = bad " tier " $2 }
    tolower($1) == "x-mote-exec-us:" { e++; if (n > 1) print $2 >> out }
    tolower($1) == "x-mote-init-us:" && n > 1 { print $2 >> (out ".init") }
    END { if (n != want || e != want || bad != "") {
            printf "bench-functions: %s: %d of %d calls answered, %d timed;%s\n", name, n, want, e, bad > "/dev/stderr"
            exit 1 } }'
}
native_calls() { # LOOP F N OUT
  # shellcheck disable=SC2086 # args are words
  "$1" "$3" "$fn/$2" "$(stdin_of "$2")" ${args[$2]} >>"$4"
}
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for f in "${functions[@]}"; do
  log "$f: $rounds rounds of $runs calls each"
  # An untimed round first: a new server's first calls fault the image's pages in (recognize:
  # ~200 us, then five calls of 50-120 us before its 50).
  mote_calls "$f" "$f" "$runs" "$work/warm"
  mote_calls empty "$f" "$runs" "$work/warm"
  for _ in $(seq "$rounds"); do
    native_calls "$gcc_loops/$f.loop" "$f" "$runs" "$work/gcc-$f"
    native_calls "$bfn_dir/$f.clang.loop" "$f" "$runs" "$work/clang-$f"
    native_calls "$bfn_dir/$f.musl.loop" "$f" "$runs" "$work/musl-$f"
    mote_calls "$f" "$f" "$runs" "$work/mote-$f"
    mote_calls empty "$f" "$runs" "$work/empty-$f"
    inproc_calls "$f" "$runs" "$work/inproc-$f"
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table ----------------------------------------------------------------------------
# Median, p10, p90 (nearest rank) and the count of the numbers in FILE.
stats() { sort -n "$1" | awk 'function rank(p) { i = int(p * NR); if (i < p * NR) i++; return i < 1 ? 1 : i }
  { v[NR] = $1 } END { printf "%d %d %d %d\n", v[rank(0.5)], v[rank(0.1)], v[rank(0.9)], NR }'; }
{
  echo "# bench-functions: the example functions, exec time per call against native"
  echo "# $(date -u +%FT%TZ) on $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo));" \
       "load average $load_start at the start, $load_end at the end"
  echo "# mote $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'); the opt tier's isa: $isa"
  [ -z "${MOTE_CC:-}" ] || echo "# the opt tier's compiler from the environment: MOTE_CC=$MOTE_CC"
  echo "# $rounds rounds x $runs calls of each, alternating: native gcc, native clang, native musl, mote exec,"
  echo "# _start floor, in-process; each batch's first call untimed on every side, and a warm-up batch of the"
  echo "# two mote ones first."
  echo "# Median (p10-p90) in us. native gcc: bench-paper's in-program floor (main called in a loop, gcc -O2);"
  echo "# native clang: the same loop, clang-19 -O2 for x86-64; native musl: the same loop, musl-gcc -O2 (the C"
  echo "# library wasi-libc is made from); mote exec: X-Mote-Exec-Us (the call's _start on a fresh instance from"
  echo "# the snapshot: wasi-libc start-up + main + exit); _start floor: X-Mote-Exec-Us of an empty main with the"
  echo "# same arguments and body. Not in mote exec: the instance (made from the snapshot: X-Mote-Init-Us, its"
  echo "# median in the column init), the HTTP request and answer. in-process: the exec time of invoke-loop's"
  echo "# runs (mote_invoke_run back to back in one process, no server), run as the native loops run theirs."
  printf '%-10s %-20s %-20s %-20s %-20s %-14s %5s  %-20s\n' function "native gcc" "native clang" \
    "native musl" "mote exec" "_start floor" init in-process
  declare -A med p10 # per "side-function", for the ratios below
  for f in "${functions[@]}"; do
    cols=()
    for side in gcc clang musl mote empty inproc; do
      read -r v v10 v90 _ < <(stats "$work/$side-$f")
      cols+=("$v ($v10-$v90)")
      med[$side-$f]=$v
      p10[$side-$f]=$v10
    done
    read -r i _ < <(stats "$work/mote-$f.init")
    printf '%-10s %-20s %-20s %-20s %-20s %-14s %5d  %-20s\n' "$f" "${cols[@]:0:5}" "$i" "${cols[5]}"
  done
  echo "# Ratios of the medians. paper = mote exec / native gcc (what bench-paper reports); like/X = (mote exec"
  echo "# - _start floor) / native X: main only on both sides; in-proc/X = in-process / native X. p10: the same"
  echo "# of the p10s (a host whose calls run at two speeds, as this one's lpr: the faster one on both sides)."
  printf '%-10s %7s %9s %10s %9s %11s %12s %11s %10s %11s\n' function paper like/gcc like/clang \
    like/musl in-proc/gcc in-proc/clang in-proc/musl p10/gcc p10-in/gcc
  for f in "${functions[@]}"; do
    awk -v f="$f" -v g="${med[gcc-$f]}" -v c="${med[clang-$f]}" -v u="${med[musl-$f]}" \
        -v m="${med[mote-$f]}" -v e="${med[empty-$f]}" -v p="${med[inproc-$f]}" \
        -v g10="${p10[gcc-$f]}" -v m10="${p10[mote-$f]}" -v p10="${p10[inproc-$f]}" 'BEGIN {
      printf "%-10s %6.2fx %8.2fx %9.2fx %8.2fx %10.2fx %11.2fx %10.2fx %9.2fx %10.2fx\n", f, m / g,
        (m - e) / g, (m - e) / c, (m - e) / u, p / g, p / c, p / u, m10 / g10, p10 / g10 }'
  done
  echo "# $((runs * rounds)) calls of each per function. Command: RUNS=$runs ROUNDS=$rounds bench/functions.sh $build"
} | tee "$out/functions.txt"
