#!/usr/bin/env bash
# Puts resize's real test photos, china.jpg and flower.jpg, into OUT_DIR. Debian ships them in
# python3-sklearn (sklearn/datasets/images/); the package is downloaded with `apt-get download`
# (no root, nothing installed) and unpacked with `dpkg-deb -x` under CACHE_DIR, or copied from
# an installed python3-sklearn. Idempotent: does nothing when both photos are already there.
#
#   functions/resize/fetch-images.sh OUT_DIR CACHE_DIR
set -euo pipefail

out=${1:?usage: fetch-images.sh OUT_DIR CACHE_DIR}
cache=${2:?usage: fetch-images.sh OUT_DIR CACHE_DIR}
images=(china.jpg flower.jpg)
rel=usr/lib/python3/dist-packages/sklearn/datasets/images

have_all() {
  local dir=$1
  for f in "${images[@]}"; do [ -s "$dir/$f" ] || return 1; done
}

mkdir -p "$out"
have_all "$out" && exit 0

src=/$rel
if ! have_all "$src"; then
  src=$cache/root/$rel
  if ! have_all "$src"; then
    mkdir -p "$cache"
    cache=$(cd "$cache" && pwd)
    rm -f "$cache"/python3-sklearn_*.deb
    # apt-get download writes into the current directory. As root it warns that the download
    # is not sandboxed (the _apt user cannot write here): expected, so that line is dropped.
    if ! (cd "$cache" && apt-get download -q python3-sklearn 2> >(grep -v 'unsandboxed' >&2)); then
      echo "fetch-images: cannot download python3-sklearn (needs Debian's package lists:" \
           "run 'apt-get update'), or install python3-sklearn" >&2
      exit 1
    fi
    rm -rf "$cache/root"
    dpkg-deb -x "$cache"/python3-sklearn_*.deb "$cache/root"
  fi
fi
for f in "${images[@]}"; do
  cp "$src/$f" "$out/$f.tmp" && mv "$out/$f.tmp" "$out/$f"
done
