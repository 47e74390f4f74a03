#!/usr/bin/env bash
# OpenWhisk's npm client (the pinned `openwhisk` of package.json) drives a
# real `mote serve --dev` through a whole round trip (roundtrip.js).
# usage: tests/openwhisk/test_openwhisk.sh BUILD_DIR   (make openwhisk-test)
#
# npm ci runs only when node_modules is missing or older than the lock file,
# so a second run needs no registry.
set -u
build=${1:-build}
test_name=openwhisk
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../server/server_lib.sh"

# OpenWhisk's well-known development key of namespace guest (mote serve --dev).
dev_cred=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
wasm="$build/openwhisk/echo.wasm"
if [ ! -f "$wasm" ]; then
  echo "openwhisk: $wasm is missing (make openwhisk-test builds it)" >&2
  exit 1
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "openwhisk: node and npm are needed (scripts/deps.sh installs them)" >&2
  exit 1
fi

# The client, from the lock file.
if [ ! -f "$here/node_modules/.package-lock.json" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || {
    echo "openwhisk: npm ci failed" >&2
    exit 1
  }
fi

# A zip action: the module as main.wasm and a file beside it.
mkdir -p "$tmp/zip"
cp "$wasm" "$tmp/zip/main.wasm"
echo "hello from a zip" >"$tmp/zip/greeting.txt"
(cd "$tmp/zip" && zip -q ../action.zip main.wasm greeting.txt) || exit 1

# A second namespace and its key, for the 403 step; a third with small
# limits (mote namespaces limits) for the 429 steps, so that no other step
# is throttled: 4 calls at once, 12 a minute.
other_key=$("$mote" keys create other --data "$tmp/data" 2>>"$tmp/err") &&
limited_key=$("$mote" keys create limited --data "$tmp/data" 2>>"$tmp/err") &&
"$mote" namespaces limits limited --per-minute 12 --concurrent 4 --data "$tmp/data" \
  >/dev/null 2>>"$tmp/err" || {
  echo "openwhisk: mote keys create / namespaces limits failed: $(cat "$tmp/err")" >&2
  exit 1
}

if ! start_server 16 --dev --queue 128; then
  echo "openwhisk: the server did not start: $(cat "$tmp/err")" >&2
  exit 1
fi

OW_APIHOST="$base" \
OW_METRICS_URL="$mbase/metrics" \
OW_AUTH="$dev_cred" \
OW_OTHER_NS=other \
OW_OTHER_AUTH="$other_key" \
OW_LIMITED_NS=limited \
OW_LIMITED_AUTH="$limited_key" \
OW_WASM="$wasm" \
OW_ZIP="$tmp/action.zip" \
OW_DATA="$tmp/data" \
  node --test --test-reporter=spec "$here/roundtrip.js"
rc=$?
if [ $rc -ne 0 ]; then
  echo "openwhisk: the server's stderr:" >&2
  tail -n 40 "$tmp/err" >&2
fi
stop_server
exit $rc
