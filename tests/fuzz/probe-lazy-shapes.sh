#!/usr/bin/env bash
# Measures what the lazy tier's in-process libtcc does with extreme-but-valid
# modules (tests/fuzz/lazy_shapes.py): for each shape and size, `mote run`
# with MOTE_QUICK_LAZY=always in a fresh cache (the core compiled by a child,
# _start's batch by libtcc in process), its wall time and peak RSS, against
# `mote compile` of the same module (the core only: no batch). A shape
# stops growing after a failure, a timeout or a run over 4 GiB.
# usage: probe-lazy-shapes.sh MOTE [SHAPE...]   (prints a table; not a test)
set -u
mote=$1; shift
shapes=${*:-blocks loops ifs ifelse brtable brtable-deep locals chain stack select divs floats params results calls callees simd memory types unreachable-blocks}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
here=$(dirname "$0")
printf '%-18s %8s %9s %4s %7s %10s %10s %9s %8s  %s\n' shape n wasm_kb rc run_s run_rss_mb compile_mb batch_mb batches result
for s in $shapes; do
  for n in 1000 4000 16000 64000 256000 1000000; do
    python3 "$here/lazy_shapes.py" "$s" "$n" "$dir/m.wasm" || break
    kb=$(( $(stat -c %s "$dir/m.wasm") / 1024 ))
    rm -rf "$dir/cache"
    MOTE_CACHE="$dir/cache" MOTE_QUICK_LAZY=always /usr/bin/time -f '%e %M' -o "$dir/tc" \
      timeout 300 "$mote" compile --tier quick "$dir/m.wasm" >/dev/null 2>&1
    read -r _ crss <"$dir/tc"
    MOTE_CACHE="$dir/cache" MOTE_QUICK_LAZY=always MOTE_QUICK_LAZY_BACKGROUND=0 MOTE_LAZY_STATS=1 \
      /usr/bin/time -f '%e %M' -o "$dir/t" timeout 300 "$mote" run --tier quick "$dir/m.wasm" >"$dir/out" 2>&1
    rc=$?
    read -r secs rss <"$dir/t" 2>/dev/null || { secs=?; rss=0; }
    case "$rss" in ''|*[!0-9]*) rss=0 ;; esac
    case "$crss" in ''|*[!0-9]*) crss=0 ;; esac
    batches=$(sed -nE 's/.*: ([0-9]+) batches, ([0-9]+) functions compiled.*/\1/p' "$dir/out" | tail -n1)
    printf '%-18s %8s %9s %4s %7s %10s %10s %9s %8s  %s\n' "$s" "$n" "$kb" "$rc" "$secs" $((rss / 1024)) \
      $((crss / 1024)) $(((rss - crss) / 1024)) "${batches:-0}" \
      "$(grep -v 'lazy object of' "$dir/out" | tail -n1 | cut -c1-100)"
    [ "$rc" -ne 0 ] && break
    [ "$rss" -gt $((4 << 20)) ] && break
    awk "BEGIN{exit !($secs > 60)}" && break
  done
done
