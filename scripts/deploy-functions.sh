#!/usr/bin/env bash
# Deploys the paper's example functions (functions/, built by `make functions`)
# to a running mote: each as a bundle, main.wasm plus its files directory
# (lpr's watch list, recognize's weights), read-only at the guest's "/".
# They are deployed public=true (callable without a key), with the key in
# $MOTE_AUTH (UUID:KEY, as `mote keys create` prints it).
# usage: MOTE_AUTH=UUID:KEY scripts/deploy-functions.sh BUILD_DIR BASE_URL
set -euo pipefail
build=${1:?usage: deploy-functions.sh BUILD_DIR BASE_URL}
base=${2:?usage: deploy-functions.sh BUILD_DIR BASE_URL}
auth=${MOTE_AUTH:?deploy-functions: set MOTE_AUTH=UUID:KEY, a key of the namespace to deploy in}
fn_dir="$build/functions"
work=$(mktemp -d /tmp/mote-deploy-XXXXXX)
trap 'rm -rf "$work"' EXIT

# name -> settings: resize decodes whole photos (the 4000x3000 test image
# needs ~150 MiB); recognize's initialiser loads its weights once.
declare -A settings=(
  [lpr]="timeout=5000&memory=32&public=true"
  [resize]="timeout=30000&memory=512&public=true"
  [recognize]="timeout=10000&memory=128&public=true"
)
for name in lpr resize recognize; do
  mkdir -p "$work/$name"
  cp -R "$fn_dir/$name/." "$work/$name/"
  rm -f "$work/$name/.dir"
  cp "$fn_dir/$name.wasm" "$work/$name/main.wasm"
  tar czf "$work/$name.tgz" -C "$work/$name" .
  if ! out=$(curl -sS --max-time 300 -u "$auth" -X PUT -H 'Content-Type: application/gzip' \
      --data-binary "@$work/$name.tgz" "$base/v1/functions/$name?${settings[$name]}"); then
    echo "deploy-functions: $name: the server did not answer" >&2
    exit 1
  fi
  if [ "$(printf '%s' "$out" | jq -r '.version // empty')" = "" ]; then
    echo "deploy-functions: $name: $out" >&2
    exit 1
  fi
  echo "deployed $name (version $(printf '%s' "$out" | jq -r .version), $(printf '%s' "$out" | jq -r .tier) tier, snapshot $(printf '%s' "$out" | jq -r .snapshot))"
done
