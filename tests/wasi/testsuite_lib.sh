# The WASI test suite (WebAssembly/wasi-testsuite, preview1), shared by its
# two runners (sourced, not run): tests/wasi/testsuite.sh (`mote run`) and
# tests/wasi/testsuite_server.sh (each test a function of `mote serve`).
# How a test runs is the suite's own specification.md: X.wasm with its X.json
# (tests/wasi/testsuite_spec.jq reads it), its folder copied before the run
# (tests create and remove files in "root"), args, env and root applied, the
# exit code compared, and stdout and stderr where the specification gives
# them.
#
# The sourcing script sets `here` (tests/wasi) first. Defines:
#   ts_open DIR            the suite's folder: $ts_dir (absolute), or false
#   ts_list [TEST...]      test names (SUITE/NAME, e.g. c/lseek), every *.wasm
#                          in sorted order when none is given
#   ts_compile MOTE TIER TEST...   compiles the tests' modules into the cache,
#                          two at a time, so that runs time execution only
#   ts_load TEST CASE_DIR  reads the specification: $ts_why (non-empty: the
#                          test cannot run, and why), $ts_root ("" for none),
#                          $ts_exit, arrays ts_args and ts_env (KEY=VALUE);
#                          CASE_DIR/expect.stdout, expect.stderr when given
#   ts_copy TEST CASE_DIR  the test's folder (without the .wasm files and
#                          *.cleanup artifacts) -> CASE_DIR/folder
#   ts_run MOTE TIER rw|ro TEST CASE_DIR   the loaded, copied test under `mote
#                          run` in CASE_DIR/folder (root preopened as "/",
#                          stdin /dev/null, 120 s at most): CASE_DIR/stdout,
#                          stderr; returns its exit status
#   ts_compare CASE_DIR RC OUT ERR   the outcome against the specification:
#                          false with the differences in $ts_diff (one line)
#   ts_line TEXT           TEXT on one line, at most 300 bytes (for reports)

ts_open() {
  [ -d "$1" ] || return 1
  ts_dir=$(cd "$1" && pwd)
  compgen -G "$ts_dir/*/*.wasm" > /dev/null
}

ts_list() {
  if [ $# -gt 0 ]; then printf '%s\n' "$@"; return; fi
  (cd "$ts_dir" && for f in */*.wasm; do echo "${f%.wasm}"; done) | LC_ALL=C sort
}

ts_compile() {
  local mote=$1 tier=$2 t; shift 2
  for t in "$@"; do [ -f "$ts_dir/$t.wasm" ] && echo "$ts_dir/$t.wasm"; done |
    xargs -P 2 -I{} sh -c 'timeout 600 "$0" compile --tier "$1" "{}" > /dev/null 2>&1' "$mote" "$tier"
}

ts_load() {
  local t=$1 cdir=$2 json=$ts_dir/$1.json spec=$2/spec.json
  ts_why= ts_root= ts_exit=0 ts_args=() ts_env=()
  rm -f "$cdir/expect.stdout" "$cdir/expect.stderr"
  if [ ! -f "$ts_dir/$t.wasm" ]; then ts_why="no such test ($ts_dir/$t.wasm)"; return 1; fi
  if [ -f "$json" ]; then
    if ! jq -f "$here/testsuite_spec.jq" "$json" > "$spec" 2> "$cdir/jq.err"; then
      ts_why="its specification $json is not valid JSON: $(ts_line "$(cat "$cdir/jq.err")")"
      return 1
    fi
  else
    echo '{}' | jq -f "$here/testsuite_spec.jq" > "$spec"
  fi
  ts_why=$(jq -r '.unsupported // ""' "$spec")
  [ -z "$ts_why" ] || return 1
  ts_root=$(jq -r '.root // ""' "$spec")
  case "/$ts_root/" in
    //) ;;
    //*|*/../*) ts_why="its root \"$ts_root\" is not a folder beneath the test's"; return 1 ;;
  esac
  ts_exit=$(jq -r '.exit_code' "$spec")
  readarray -d '' ts_args < <(jq -j '.args[] | . + "\u0000"' "$spec")
  readarray -d '' ts_env < <(jq -j '.env | to_entries[] | "\(.key)=\(.value)\u0000"' "$spec")
  local s
  for s in stdout stderr; do
    if [ "$(jq -r ".$s == null" "$spec")" = false ]; then
      jq -j ".$s" "$spec" > "$cdir/expect.$s"
    fi
  done
}

ts_copy() {
  local src=$ts_dir/${1%/*}
  rm -rf "$2/folder" && mkdir -p "$2/folder" &&
    tar -C "$src" --exclude='*.wasm' --exclude='*.cleanup' -cf - . | tar -C "$2/folder" -xf -
}

ts_run() {
  local mote=$1 tier=$2 mode=$3 t=$4 cdir=$5 e
  local cmd=("$mote" run --tier "$tier")
  for e in "${ts_env[@]}"; do cmd+=(--env "$e"); done
  [ -n "$ts_root" ] && cmd+=(--dir "$cdir/folder/$ts_root:/:$mode")
  cmd+=("$ts_dir/$t.wasm" "${ts_args[@]}")
  (cd "$cdir/folder" && timeout -k 5 120 "${cmd[@]}" < /dev/null > "$cdir/stdout" 2> "$cdir/stderr")
}

ts_line() {
  printf '%s' "$1" | tr '\n\t' '  ' | head -c 300
}

ts_compare() {
  local cdir=$1 rc=$2 out=$3 err=$4 s
  ts_diff=
  if [ "$rc" != "$ts_exit" ]; then
    ts_diff="exit code $rc, expected $ts_exit; stderr: $(ts_line "$(head -c 600 "$err")")"
  fi
  for s in stdout stderr; do
    [ -f "$cdir/expect.$s" ] || continue
    local got=$out
    [ $s = stderr ] && got=$err
    if ! cmp -s "$cdir/expect.$s" "$got"; then
      ts_diff="${ts_diff:+$ts_diff; }$s $(ts_line "$(head -c 100 "$got" | od -An -c | tr -s ' ')") expected $(ts_line "$(head -c 100 "$cdir/expect.$s" | od -An -c | tr -s ' ')")"
    fi
  done
  [ -z "$ts_diff" ]
}
