#!/usr/bin/env bash
# WASI preview1 conformance: every program of tests/wasi/programs runs under
# `mote run` and under Node's node:wasi (tests/wasi/run-node.mjs, the same
# command line); stdout, stderr, the exit status and the directory tree the
# program leaves behind must be equal, and the exit status must be the one
# the program declares.
#
#   tests/wasi/conformance.sh BUILD_DIR [PROGRAM...]      (make wasi-conformance)
#
# The .wasm files are BUILD_DIR/wasi/NAME.wasm (built by tests/wasi/wasi.mk).
# Each program declares its runs in lines of its source:
#
#   //! run KEY=VALUE... | MOTE-RUN-ARGUMENTS
#
# MOTE-RUN-ARGUMENTS are shell words (the line is trusted test source) where
# @SB is the run's own fresh copy of the fixture directory and @WASM the
# module. Keys:
#   exit=N|trap   the expected exit status (trap: the status `mote run`
#                 documents for a trap, read from `mote run --help`)
#   stdin=data|pipe|empty   a 108 KB text file, the same through a pipe, or
#                 /dev/null (the default)
#   node=skip     Node cannot run this the same way (the program says why):
#                 stdout must equal tests/wasi/expected/NAME.K.out and the
#                 tree must be the untouched fixture; Node is not run
#   node=wrong    Node deviates from the WASI spec (the program says where):
#                 stdout must equal tests/wasi/expected/NAME.K.out; Node's
#                 output is shown, not compared. When
#                 tests/wasi/expected/NAME.K.tree exists (the tree listing
#                 this script prints), mote's tree must equal it instead of
#                 Node's
# K counts the run lines of a program from 1.
#
# Environment: MOTE (default BUILD_DIR/mote), NODE (default node),
# WASI_RUNTIMES ("mote node" by default; "node" checks only Node against the
# declared statuses and expected files), WASI_TIER (opt|quick),
# MOTE_CACHE (default BUILD_DIR/wasi/cache), WASI_KEEP=1 keeps the run
# directories. Every run is under `timeout` (60 s).
# The last line is "wasi-conformance: N passed, N failed".
set -u
BUILD=${1:?usage: conformance.sh BUILD_DIR [PROGRAM...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
MOTE=${MOTE:-$BUILD/mote}
case $MOTE in /*) ;; *) MOTE=$PWD/$MOTE ;; esac  # runs happen in their own directories
NODE=${NODE:-node}
RUNTIMES=${WASI_RUNTIMES:-mote node}
TIER=${WASI_TIER:-opt}
export MOTE_CACHE=${MOTE_CACHE:-$BUILD/wasi/cache}
mkdir -p "$MOTE_CACHE" && MOTE_CACHE=$(cd "$MOTE_CACHE" && pwd)
wasmdir=$(cd "$BUILD/wasi" && pwd) || exit 1
tmp=$(mktemp -d /tmp/mote-wasi-conf-XXXXXX)
if [ "${WASI_KEEP:-0}" = 1 ]; then echo "run directories kept in $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
passed=0; failed=0

has() { [[ " $RUNTIMES " == *" $1 "* ]]; }

fail() { # case, message
  failed=$((failed + 1))
  echo "FAIL $1: $2"
}

# The fixture every run starts from (a fresh copy each time).
make_fixture() {
  mkdir -p "$1/sub/inner"
  printf 'hello, world\n' > "$1/hello.txt"
  printf 'a\n' > "$1/sub/a.txt"
  printf 'bb\n' > "$1/sub/b.txt"
  ln -s hello.txt "$1/link.txt"
}

# Names, types, sizes, contents and link targets of a tree, one line each.
tree() {
  (cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    while IFS= read -r -d '' p; do
      if [ -L "$p" ]; then echo "link $p -> $(readlink "$p")"
      elif [ -d "$p" ]; then echo "dir  $p"
      elif [ -f "$p" ]; then echo "file $p $(stat -c %s "$p") $(md5sum < "$p" | cut -c1-32)"
      else echo "other $p"; fi
    done)
}

seq 1 20000 > "$tmp/stdin.data"
make_fixture "$tmp/fixture"
tree "$tmp/fixture" > "$tmp/fixture.tree"

trap_status=68
if has mote; then
  if ! help=$("$MOTE" run --help 2>&1) || [[ "$help" != *--dir* ]]; then
    echo "FAIL: $MOTE run has no WASI (no --dir in \`mote run --help\`); every program fails"
  fi
  s=$(printf '%s\n' "$help" | sed -nE 's/.*[^0-9]([0-9]+) +the module trapped.*/\1/p' | head -n1)
  [ -n "$s" ] && trap_status=$s
fi

# run_one RUNTIME CASE_DIR STDIN WORDS...: runs in CASE_DIR/RUNTIME; leaves
# stdout, stderr, rc and tree there.
run_one() {
  local rt=$1 cdir=$2 in=$3; shift 3
  local d=$cdir/$rt
  mkdir -p "$d"
  cp -a "$tmp/fixture" "$d/sandbox"
  local words=()
  for w in "$@"; do w=${w//@SB/$d/sandbox}; words+=("${w//@WASM/$wasm}"); done
  local cmd
  if [ "$rt" = mote ]; then cmd=("$MOTE" run --tier "$TIER" "${words[@]}")
  else cmd=("$NODE" "$here/run-node.mjs" "${words[@]}"); fi
  local rc
  case $in in
    data) (cd "$d" && timeout -k 5 60 "${cmd[@]}" < "$tmp/stdin.data" > "$d/stdout" 2> "$d/stderr"); rc=$? ;;
    pipe) (cd "$d" && cat "$tmp/stdin.data" | timeout -k 5 60 "${cmd[@]}" > "$d/stdout" 2> "$d/stderr"); rc=$? ;;
    *) (cd "$d" && timeout -k 5 60 "${cmd[@]}" < /dev/null > "$d/stdout" 2> "$d/stderr"); rc=$? ;;
  esac
  echo "$rc" > "$d/rc"
  tree "$d/sandbox" > "$d/tree"
  # The runtime's own lines ("mote: ...", "node: ...") are checked apart.
  grep -vE '^(mote|node): ' "$d/stderr" > "$d/stderr.guest"
}

show_diff() { # label, file a, file b
  echo "  --- $1"
  diff -u --label "$2" --label "$3" "$2" "$3" | head -n 40 | sed 's/^/  /'
}

programs=("$@")
if [ ${#programs[@]} -eq 0 ]; then
  for f in "$here"/programs/*.c; do programs+=("$(basename "$f" .c)"); done
fi

# Compile every module once up front (two at a time) so that runs are timed
# on execution only.
if has mote; then
  for p in "${programs[@]}"; do echo "$wasmdir/$p.wasm"; done |
    xargs -P 2 -I{} sh -c 'timeout 600 "$0" compile --tier "$1" "{}" > /dev/null 2>&1' "$MOTE" "$TIER"
fi

for p in "${programs[@]}"; do
  src=$here/programs/$p.c
  wasm=$wasmdir/$p.wasm
  if [ ! -f "$wasm" ]; then fail "$p" "$wasm missing (make $BUILD/wasi/$p.wasm)"; continue; fi
  k=0
  while IFS= read -r line; do
    k=$((k + 1))
    name=$p.$k
    spec=${line#//! run }
    keys=${spec%%|*}
    args=${spec#*|}
    exp_exit=0; in=empty; node_mode=compare
    for kv in $keys; do
      case $kv in
        exit=trap) exp_exit=$trap_status ;;
        exit=*) exp_exit=${kv#exit=} ;;
        stdin=*) in=${kv#stdin=} ;;
        node=*) node_mode=${kv#node=} ;;
        *) fail "$name" "unknown key $kv"; continue 2 ;;
      esac
    done
    # Only Node asked for, and this run is not for Node: not counted.
    if [ "$node_mode" = skip ] && ! has mote; then continue; fi
    eval "set -- $args"
    cdir=$tmp/$name
    mkdir -p "$cdir"
    expected=$here/expected/$name.out
    exp_tree=$here/expected/$name.tree
    ok=1; msgs=()
    for rt in $RUNTIMES; do
      [ "$rt" = node ] && [ "$node_mode" = skip ] && continue
      run_one "$rt" "$cdir" "$in" "$@"
      rc=$(cat "$cdir/$rt/rc")
      if [ "$rc" != "$exp_exit" ]; then
        ok=0; msgs+=("$rt exited $rc, expected $exp_exit; stderr: $(head -c 300 "$cdir/$rt/stderr")")
      fi
      if [ "$rt" = mote ] && [ "$exp_exit" = "$trap_status" ]; then
        n=$(grep -c '^mote: ' "$cdir/mote/stderr")
        [ "$n" = 1 ] || { ok=0; msgs+=("mote: expected one 'mote: ' line on stderr for the trap, got $n"); }
      fi
      if [ "$node_mode" != compare ] && { [ "$rt" = mote ] || [ "$node_mode" = skip ]; }; then
        if [ ! -f "$expected" ]; then ok=0; msgs+=("no expected file $expected")
        elif ! cmp -s "$expected" "$cdir/$rt/stdout"; then
          ok=0; msgs+=("$rt stdout differs from the expected file:"$'\n'"$(show_diff stdout "$expected" "$cdir/$rt/stdout")")
        fi
        if [ "$node_mode" = skip ] && ! cmp -s "$tmp/fixture.tree" "$cdir/$rt/tree"; then
          ok=0; msgs+=("$rt changed the tree:"$'\n'"$(show_diff tree "$tmp/fixture.tree" "$cdir/$rt/tree")")
        fi
        if [ "$node_mode" = wrong ] && [ -f "$exp_tree" ] && ! cmp -s "$exp_tree" "$cdir/$rt/tree"; then
          ok=0; msgs+=("$rt tree differs from the expected tree:"$'\n'"$(show_diff tree "$exp_tree" "$cdir/$rt/tree")")
        fi
      fi
      if [ "$rt" = node ] && [ "$node_mode" = wrong ] && [ -f "$expected" ] && ! cmp -s "$expected" "$cdir/node/stdout"; then
        echo "note $name: Node deviates from the spec here, as expected:"
        show_diff stdout "$expected" "$cdir/node/stdout"
      fi
    done
    if has mote && has node && [ "$node_mode" != skip ]; then
      for what in stdout stderr.guest tree; do
        [ "$what" = stdout ] && [ "$node_mode" = wrong ] && continue
        [ "$what" = tree ] && [ "$node_mode" = wrong ] && [ -f "$exp_tree" ] && continue
        if ! cmp -s "$cdir/node/$what" "$cdir/mote/$what"; then
          ok=0; msgs+=("$what differs (node vs mote):"$'\n'"$(show_diff "$what" "$cdir/node/$what" "$cdir/mote/$what")")
        fi
      done
    fi
    if [ $ok = 1 ]; then
      passed=$((passed + 1))
    else
      fail "$name" "$(printf '%s\n' "${msgs[@]}")"
      echo "  run: $(printf '%q ' "$@")  (stdin: $in)"
    fi
  done < <(grep -E '^//! run ' "$src")
  [ $k -gt 0 ] || fail "$p" "no //! run line in $src"
done

echo "wasi-conformance: $passed passed, $failed failed"
[ $failed -eq 0 ]
