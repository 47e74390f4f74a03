#!/usr/bin/env bash
# What small hostile modules cost the translator, which runs in the server's own process (only
# gcc and tcc are child processes under limits): for each module of bench/translate_hostile.py,
# `mote compile --tier opt` with MOTE_CC=/bin/true (the translation alone; the cache
# install then fails, which is expected), its wall time, its peak RSS and how it ended. Each
# shape once took seconds to minutes or hundreds of MB to GBs (docs/architecture.md, "What a
# hostile module may cost the translator").
#
#   bench/translate_hostile.sh [BUILD_DIR]
set -eu
build=${1:-build}
mote=$build/mote
command -v /usr/bin/time >/dev/null || { echo "translate_hostile: /usr/bin/time is missing (scripts/deps.sh --bench)" >&2; exit 1; }
work=$(mktemp -d /tmp/mote-translate-hostile-XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 "$(dirname "$0")/translate_hostile.py" "$work/m"
printf '%-16s %10s %9s %10s  %s\n' module KB seconds peak-MiB outcome
for w in "$work"/m/*.wasm; do
  rm -rf "$work/cache"
  MOTE_CACHE=$work/cache MOTE_CC=/bin/true /usr/bin/time -f '%e %M' -o "$work/time" \
    "$mote" compile --tier opt "$w" > /dev/null 2> "$work/err" || true
  read -r secs kb < <(tail -1 "$work/time")
  why=$(grep -v '^Command exited' "$work/err" | tail -1 | sed "s|$w: ||" | cut -c1-90)
  printf '%-16s %10d %9s %10d  %s\n' "$(basename "$w" .wasm)" $(( $(stat -c %s "$w") / 1024 )) \
    "$secs" $((kb / 1024)) "$why"
done
