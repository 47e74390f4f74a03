#!/usr/bin/env bash
# The hostile corpus: modules that try to hang, exhaust or escape the host.
# Each must be contained with the status and message `mote run --help`
# documents, within its deadline, and a hello program run right after must
# behave normally.
#
#   tests/wasi/hostile.sh BUILD_DIR [CASE...]      (make wasi-hostile)
#
# Modules: BUILD_DIR/wasi/hostile/*.wasm and BUILD_DIR/wasi/hello.wasm (built
# by tests/wasi/wasi.mk). Every run is under `timeout` (default 60 s), so a
# broken host cannot hang the suite. Environment: MOTE (default
# BUILD_DIR/mote), WASI_TIER (opt|quick), MOTE_CACHE (default
# BUILD_DIR/wasi/cache), WASI_KEEP=1 keeps the run directories,
# WASI_VERBOSE=1 prints every case with its status and time.
# The last line is "wasi-hostile: N passed, N failed".
set -u
BUILD=${1:?usage: hostile.sh BUILD_DIR [CASE...]}
shift
MOTE=${MOTE:-$BUILD/mote}
case $MOTE in /*) ;; *) MOTE=$PWD/$MOTE ;; esac
TIER=${WASI_TIER:-opt}
export MOTE_CACHE=${MOTE_CACHE:-$BUILD/wasi/cache}
mkdir -p "$MOTE_CACHE" && MOTE_CACHE=$(cd "$MOTE_CACHE" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
H=$(cd "$BUILD/wasi/hostile" && pwd) || exit 1
HELLO=$(cd "$BUILD/wasi" && pwd)/hello.wasm
tmp=$(mktemp -d /tmp/mote-wasi-hostile-XXXXXX)
if [ "${WASI_KEEP:-0}" = 1 ]; then echo "run directories kept in $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
passed=0; failed=0
only=" $* "

# The documented statuses (`mote run --help`), with cli.h's values as fallback.
help=$("$MOTE" run --help 2>&1)
status_of() { # text in --help, fallback
  local s
  s=$(printf '%s\n' "$help" | sed -nE "s/.*[^0-9]([0-9]+) +$1.*/\\1/p" | head -n1)
  echo "${s:-$2}"
}
TRAP=$(status_of 'the module trapped' 68)
TIMEOUT=$(status_of 'the timeout passed' 69)
LIMIT=$(status_of 'a limit was exceeded' 70)
EFAULT=21
if [[ "$help" != *--dir* ]]; then
  echo "FAIL: $MOTE run has no WASI (no --dir in \`mote run --help\`); every case fails"
fi

# Compile every module up front, so that deadlines time execution only.
for m in "$H"/*.wasm "$HELLO"; do echo "$m"; done |
  xargs -P 2 -I{} sh -c 'timeout 600 "$0" compile --tier "$1" "{}" > /dev/null 2>&1' "$MOTE" "$TIER"

# run NAME LIMIT_S [--stdin FILE] -- MOTE-RUN-ARGS...: runs mote in $tmp/NAME
# (cwd); sets rc, secs (wall time, 2 decimals), out and err (file paths).
run() {
  local name=$1 limit=$2; shift 2
  local in=/dev/null
  if [ "$1" = --stdin ]; then in=$2; shift 2; fi
  [ "$1" = -- ] && shift
  local rd=$tmp/$name; mkdir -p "$rd"
  out=$rd/stdout; err=$rd/stderr
  local t0 t1
  t0=$(date +%s%N)
  (cd "$rd" && timeout -k 5 "$limit" "$MOTE" run --tier "$TIER" "$@" < "$in" > "$out" 2> "$err")
  rc=$?
  t1=$(date +%s%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
}

# A fresh sandbox with a canary file and a directory next to it (outside).
make_sandbox() { # DIR
  mkdir -p "$1/sandbox/sub/inner" "$1/outside"
  printf 'hello, world\n' > "$1/sandbox/hello.txt"
  printf 'a\n' > "$1/sandbox/sub/a.txt"
  printf 'canary: must not be read or changed\n' > "$1/canary"
  printf 'outside\n' > "$1/outside/file"
  touch -d '2001-02-03 04:05:06' "$1/canary" "$1/outside/file" "$1/outside"
}
# What outside the sandbox could change: names, sizes, contents, mtimes.
outside_state() { # DIR
  (cd "$1" && find . -path ./sandbox -prune -o -print | LC_ALL=C sort | while read -r p; do
    if [ -L "$p" ]; then echo "link $p"; elif [ -f "$p" ]; then echo "file $p $(stat -c '%s %Y' "$p") $(md5sum < "$p")"
    else echo "dir $p $(stat -c %Y "$p")"; fi; done)
  ls -la /tmp/mote-escape-newfile 2>/dev/null
}

# case_result NAME MESSAGES...: no messages = pass. Then the hello check.
result() {
  local name=$1; shift
  local msgs=("$@")
  local hrc hout
  hout=$(cd "$tmp" && timeout -k 5 60 "$MOTE" run --tier "$TIER" "$HELLO" 2>&1 < /dev/null); hrc=$?
  if [ $hrc -ne 0 ] || [ "$hout" != "hello from wasi" ]; then
    msgs+=("the hello run after it failed: status $hrc, output: $(printf '%s' "$hout" | head -c 300)")
  fi
  if [ ${#msgs[@]} -eq 0 ]; then
    passed=$((passed + 1))
    [ "${WASI_VERBOSE:-0}" = 1 ] && echo "ok   $name (status $rc, ${secs}s)"
  else
    failed=$((failed + 1))
    echo "FAIL $name (status $rc, ${secs}s):"
    printf '  %s\n' "${msgs[@]}"
    echo "  stderr: $(head -c 400 "$err")"
  fi
}

wanted() { [ "$only" = "  " ] || [[ "$only" == *" $1 "* ]]; }

# The one line "mote: ..." on stderr, matching a pattern.
mote_line() { # PATTERN -> prints a problem or nothing
  local n
  n=$(grep -c '^mote: ' "$err")
  [ "$n" = 1 ] || { echo "expected one 'mote: ' line on stderr, got $n"; return; }
  grep '^mote: ' "$err" | grep -qiE "$1" || echo "the mote line does not match /$1/: $(grep '^mote: ' "$err")"
}

check() { # NAME EXPECTED_STATUS MAX_SECONDS MESSAGE_PATTERN
  local m=()
  [ "$rc" = "$2" ] || m+=("status $rc, expected $2")
  awk -v s="$secs" -v l="$3" 'BEGIN { exit !(s <= l) }' || m+=("took ${secs}s, more than $3 s")
  if [ -n "$4" ]; then local p; p=$(mote_line "$4"); [ -z "$p" ] || m+=("$p"); fi
  printf '%s\n' "${m[@]}"
}

to_array() { mapfile -t problems < <(printf '%s' "$1" | sed '/^$/d'); }

# --- endless loops: the timeout stops them -----------------------------------
# The loops never end, so the timeout's status and message are the proof; the
# 20 s bound only tells "stopped at its 500 ms" from "seconds late", loose
# enough that a loaded machine, which adds tens of ms, never reaches it.
for m in loop loop_c; do
  wanted $m || continue
  run $m 60 -- --timeout 500 "$H/$m.wasm"
  to_array "$(check $m "$TIMEOUT" 20 'time')"
  result "$m (--timeout 500)" "${problems[@]}"
done

# --- call stack exhaustion ------------------------------------------------------
if wanted recurse; then
  run recurse 60 -- "$H/recurse.wasm"
  to_array "$(check recurse "$TRAP" 10 'call stack exhausted')"
  result recurse "${problems[@]}"
fi
if wanted recurse_host; then
  run recurse_host 60 -- "$H/recurse_host.wasm"
  to_array "$(check recurse_host "$TRAP" 10 'call stack exhausted')"
  result "recurse_host (a WASI call at every level)" "${problems[@]}"
fi
if wanted recurse_c; then
  run recurse_c 60 -- "$H/recurse_c.wasm"
  to_array "$(check recurse_c "$TRAP" 10 'trap')"
  result "recurse_c (shadow stack, --stack-first)" "${problems[@]}"
fi

# --- memory bombs under --memory 64 ---------------------------------------------
if wanted membomb; then
  run membomb 60 -- --memory 64 "$H/membomb.wasm"
  to_array "$(check membomb 0 20 '')"
  n=$(sed -nE 's/^malloc returned NULL after ([0-9]+) MiB$/\1/p' "$out")
  if [ -z "$n" ]; then problems+=("no 'malloc returned NULL' line: $(head -c 200 "$out")")
  elif [ "$n" -ge 64 ] || [ "$n" -lt 32 ]; then problems+=("malloc failed after $n MiB, expected 32..63 under --memory 64"); fi
  result "membomb (--memory 64)" "${problems[@]}"
fi
if wanted memgrow; then
  run memgrow 60 -- --memory 64 "$H/memgrow.wasm"
  to_array "$(check memgrow 0 20 '')"
  result "memgrow (--memory 64: memory.grow stops at 1024 pages)" "${problems[@]}"
fi

# --- 1 GiB of output: the output cap ----------------------------------------------
# `mote run --help`: "--max-output BYTES cap on each of stdout and stderr
# (default N)", status LIMIT. The cap holds for passed-through stdio too.
cap=$(printf '%s\n' "$help" | sed -nE 's/.*--max-output.*\(default ([0-9]+)\).*/\1/p' | head -n1)
cap=${cap:-1048576}
if wanted bigout; then
  run bigout 60 -- "$H/bigout.wasm"
  to_array "$(check bigout "$LIMIT" 10 'output|stdout|limit|cap')"
  sz=$(stat -c %s "$out")
  [ "$sz" -le "$cap" ] || problems+=("stdout got $sz bytes, over the cap $cap")
  [ "$sz" -gt 0 ] || problems+=("stdout got nothing; output up to the cap should pass")
  ! grep -q 'wrote all' "$err" || problems+=("the module wrote all of it")
  result "bigout (1 GiB to stdout, default cap $cap)" "${problems[@]}"

  run bigout_small 60 -- --max-output 4096 "$H/bigout.wasm"
  to_array "$(check bigout_small "$LIMIT" 10 'output|stdout|limit|cap')"
  sz=$(stat -c %s "$out")
  [ "$sz" -le 4096 ] || problems+=("stdout got $sz bytes, over --max-output 4096")
  result "bigout (--max-output 4096)" "${problems[@]}"

  # The cap cuts the module's last line, so mote's line may follow on the same
  # line: look for "mote: " anywhere.
  run bigerr 60 -- --max-output 4096 "$H/bigout.wasm" stderr
  to_array "$(check bigerr "$LIMIT" 10 '')"
  n=$(grep -o 'mote: .*' "$err" | wc -l)
  [ "$n" = 1 ] || problems+=("expected one 'mote: ' message on stderr, got $n")
  sz=$(( $(stat -c %s "$err") - $(grep -o 'mote: .*' "$err" | head -n1 | wc -c) ))
  [ "$sz" -le 4096 ] || problems+=("stderr got $sz bytes of the module's, over --max-output 4096")
  result "bigerr (1 GiB to stderr, --max-output 4096)" "${problems[@]}"

  # Through a pipe whose reader stops early: the host must not die of SIGPIPE
  # unreported nor hang.
  d=$tmp/bigout_pipe; mkdir -p "$d"; out=$d/stdout; err=$d/stderr
  t0=$(date +%s%N)
  (cd "$d" && timeout -k 5 60 "$MOTE" run --tier "$TIER" "$H/bigout.wasm" 2> "$err" < /dev/null |
    head -c 1000 > "$out"; exit "${PIPESTATUS[0]}")
  rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
  problems=()
  [ "$rc" != 124 ] && [ "$rc" != 137 ] || problems+=("hung until the safety timeout")
  result "bigout into a pipe closed early (status $rc accepted unless a hang)" "${problems[@]}"
fi

# --- 100k open files: the open-file cap ---------------------------------------------
ofcap=$(printf '%s\n' "$help" | sed -nE 's/.*--max-open-files.*\(default ([0-9]+)\).*/\1/p' | head -n1)
ofcap=${ofcap:-64}
if wanted manyfiles; then
  for variant in default 10; do
    d=$tmp/manyfiles-$variant; make_sandbox "$d"
    if [ $variant = default ]; then lim=$ofcap; extra=(); else lim=$variant; extra=(--max-open-files "$variant"); fi
    run manyfiles-$variant 60 -- "${extra[@]}" --dir "$d/sandbox:/sandbox" "$H/manyfiles.wasm"
    to_array "$(check manyfiles 0 20 '')"
    n=$(sed -nE 's/^opened ([0-9]+), then (EMFILE|ENFILE)$/\1/p' "$out")
    if [ -z "$n" ]; then problems+=("no 'opened N, then EMFILE' line: $(head -c 200 "$out")")
    elif [ "$n" -gt "$lim" ] || [ "$n" -lt 1 ]; then problems+=("opened $n files, the cap is $lim"); fi
    grep -qx 'after one close: open works' "$out" || problems+=("after closing one, opening failed: $(tail -n1 "$out")")
    result "manyfiles (cap $lim)" "${problems[@]}"
  done
fi

# --- the embedder's stdio, misused -----------------------------------------------------
if wanted stdio_rights; then
  run stdio_rights 60 -- "$H/stdio_rights.wasm"
  to_array "$(check stdio_rights 0 10 '')"
  sz=$(stat -c %s "$out")
  [ "$sz" -le 4096 ] || problems+=("stdout is now $sz bytes long")
  grep -aq ': OK$' "$err" && problems+=("calls that worked: $(grep -a ': OK$' "$err" | tr '\n' ';')")
  result "stdio_rights (positioned writes, allocate, set-size on stdio files; a write to stdin)" \
    "${problems[@]}"
fi

# --- path escapes -----------------------------------------------------------------------
if wanted escape; then
  d=$tmp/escape-dir; make_sandbox "$d"
  ln -s ../canary "$d/sandbox/out"
  ln -s .. "$d/sandbox/updir"
  ln -s /etc/passwd "$d/sandbox/abs"
  ln -s /proc/self "$d/sandbox/procself"
  ln -s / "$d/sandbox/root"
  ln -s "$d/canary" "$d/sandbox/outabs"
  rm -f /tmp/mote-escape-newfile
  before=$(outside_state "$d")
  run escape 60 -- --dir "$d/sandbox:/sandbox:rw" "$H/escape.wasm"
  after=$(outside_state "$d")
  to_array "$(check escape 0 20 '')"
  grep -qx 'done' "$out" || problems+=("the program did not finish: $(tail -n 3 "$out")")
  # Allowed to succeed: opening a directory inside, and creating a link whose
  # contents point out (the spec restricts following, not contents).
  controls=$(head -n 4 "$out")
  [ "$controls" = "open read hello.txt (follow): OK
open read sub/../hello.txt (follow): OK
open write sub/made.txt (follow): OK
stat sub (follow): OK" ] || problems+=("the controls (calls inside the sandbox) failed:" "$controls")
  leaks=$(tail -n +5 "$out" | grep -E ': OK$|LEAK' | grep -vE '^(open dir sub|symlink newout -> \.\./canary): OK$')
  [ -z "$leaks" ] || problems+=("escapes that worked:" "$leaks")
  [ "$before" = "$after" ] || problems+=("outside the sandbox changed:" "$(diff <(echo "$before") <(echo "$after"))")
  # ELOOP for a link opened without following it is a refusal, not a leak.
  other=$(grep -vE ': (OK|ENOTCAPABLE)$|^done$|^  |^open [a-z]+ [^ ]+: ELOOP$' "$out")
  if [ -n "$other" ]; then
    echo "note escape: refused, but not with the documented ENOTCAPABLE:"
    sed 's/^/  /' <<< "$other"
  fi
  result "escape (.., absolute, links out, /proc/self)" "${problems[@]}"
fi

# --- bad pointers to WASI calls ----------------------------------------------------------
if wanted badptr; then
  d=$tmp/badptr-dir; make_sandbox "$d"
  printf 'stdin line\n' > "$tmp/badptr.stdin"
  for c in a b c d e f g h i j k l m n o p q r; do
    what=$(sed -nE "s/^;; +$c  (.*)/\\1/p" "$here/hostile/badptr.wat" 2>/dev/null)
    run badptr-$c 60 --stdin "$tmp/badptr.stdin" -- --dir "$d/sandbox:/sandbox:rw" --env A=B \
      "$H/badptr.wasm" "$c"
    problems=()
    if [ "$rc" = "$TRAP" ]; then
      p=$(mote_line 'trap'); [ -z "$p" ] || problems+=("$p")
    elif [ "$rc" != "$EFAULT" ]; then
      problems+=("status $rc: expected EFAULT ($EFAULT) from the call, or a trap ($TRAP)")
    fi
    [ ! -s "$out" ] || problems+=("bytes reached stdout: $(head -c 80 "$out" | od -c | head -n 2)")
    result "badptr $c: ${what:-?}" "${problems[@]}"
  done
fi

# --- a bad pointer to every WASI call that takes one ----------------------------------
if wanted badptr_all; then
  d=$tmp/badptr-all-dir; make_sandbox "$d"
  before=$(outside_state "$d")
  run badptr_all 60 -- --dir "$d/sandbox:/sandbox:rw" "$H/badptr_all.wasm"
  problems=()
  if [ "$rc" != 0 ]; then
    k=$((rc - 100))
    call=$(sed -nE "s/^;; +$k  (.*)/\1/p" "$here/hostile/badptr_all.wat" 2>/dev/null)
    problems+=("call $k (${call:-?}) did not fail with EFAULT: errno $(od -An -tu1 "$err" | head -c 12), status $rc")
  fi
  [ ! -s "$out" ] || problems+=("bytes reached stdout")
  [ "$before" = "$(outside_state "$d")" ] || problems+=("outside the sandbox changed")
  result "badptr_all: 40 calls of 29 WASI functions, each with one pointer outside memory" "${problems[@]}"
fi

# --- SIMD accesses outside memory: each traps, used or not -------------------------------
if wanted simd_oob; then
  for c in a b c d e f g h; do
    what=$(sed -nE "s/^;; +$c  (.*)/\\1/p" "$here/hostile/simd_oob.wat" 2>/dev/null)
    run simd_oob-$c 60 -- "$H/simd_oob.wasm" "$c"
    to_array "$(check simd_oob-$c "$TRAP" 30 'out of bounds')"
    result "simd_oob $c: ${what:-?}" "${problems[@]}"
  done
fi

echo "wasi-hostile: $passed passed, $failed failed"
[ $failed -eq 0 ]
