#!/usr/bin/env bash
# `make run`: the platform in the foreground with the example functions deployed.
#
# Starts `mote serve --dev` on 127.0.0.1:8080 with its data in
# build/run-data, waits for /healthz, deploys the paper's three functions
# (built by `make functions`: lpr, resize, recognize, as bundles with their
# files) and bench/programs/hello.c as "hello", all public (callable without
# a key), prints how to call them and how to use the development key, and
# waits on the server (Ctrl-C stops it).
# usage: scripts/run.sh BUILD_DIR [HOST:PORT [METRICS_HOST:PORT]]
set -u
build=${1:-build}
listen=${2:-127.0.0.1:8080}
metrics=${3:-127.0.0.1:9464} # the operator's /metrics (every namespace's figures)
data="$build/run-data"
base="http://$listen"
# --dev's well-known key of namespace guest (OpenWhisk's; public: loopback only).
export MOTE_AUTH=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
mkdir -p "$data"

"$build/mote" serve --dev --listen "$listen" --metrics-listen "$metrics" --data "$data" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server' INT TERM
up=1
for _ in $(seq 100); do
  if curl -sf --max-time 2 "$base/healthz" >/dev/null; then up=0; break; fi
  kill -0 $server 2>/dev/null || break
  sleep 0.1
done
if [ $up -ne 0 ]; then
  echo "make run: the server did not come up on $listen" >&2
  kill -TERM $server 2>/dev/null; wait $server
  exit 1
fi

wasm="$build/run-data/hello.wasm"
clang-19 --target=wasm32-wasi -O2 -Wl,--stack-first -Wl,-z,stack-size=1048576 \
  bench/programs/hello.c -o "$wasm" &&
  curl -sf --max-time 60 -u "$MOTE_AUTH" -X PUT -H 'Content-Type: application/wasm' \
    --data-binary "@$wasm" "$base/v1/functions/hello?timeout=5000&memory=64&public=true" >/dev/null ||
  echo "make run: could not build or deploy hello (is clang-19 installed? scripts/deps.sh)" >&2

scripts/deploy-functions.sh "$build" "$base" ||
  echo "make run: could not deploy the example functions (built by make functions)" >&2

img="$build/functions/images/flower.jpg"
sample=$(ls "$build"/functions/recognize-samples/*.pgm 2>/dev/null | head -1)
cat <<MSG

mote is serving on $base (data in $data). The example functions are public:
  curl '$base/faas/lpr?arg=ABC1234'                 # license plate reader: is it on the watch list?
  curl --data-binary @$img '$base/faas/resize?arg=50' -o small.jpg   # resize a JPEG to 50%
  curl --data-binary @$sample '$base/faas/recognize'   # classify an image (Fashion-MNIST classes)
  curl '$base/faas/hello?arg=world'                 # runs hello.wasm, args -> argv
  curl -i '$base/faas/hello'                        # X-Mote-* timing headers
The /v1 API (and functions not deployed public=true) want a key: --dev made
OpenWhisk's development key of namespace guest. With curl, -u UUID:KEY:
  export MOTE_AUTH=$MOTE_AUTH MOTE_URL=$base
  curl -u \$MOTE_AUTH '$base/v1/functions'          # what is deployed
  curl -u \$MOTE_AUTH '$base/v1/activations?limit=5'   # the last calls
  curl -u \$MOTE_AUTH -X PUT -H 'Content-Type: application/wasm' --data-binary @F.wasm '$base/v1/functions/NAME?timeout=1000'
  $build/mote ls; $build/mote invoke hello world     # the client verbs read MOTE_AUTH
  $build/mote usage                                 # calls, errors, time, GB-seconds per function
  curl -u \$MOTE_AUTH '$base/v1/metrics'            # the namespace's own figures, Prometheus text
OpenWhisk clients (the npm openwhisk package, wsk): apihost $base, the same key:
  curl -u \$MOTE_AUTH '$base/api/v1/namespaces/_/actions'   # the functions as OpenWhisk actions
The operator's figures (every namespace's calls, errors, latencies, usage) are on
their own address, never on $base:
  curl 'http://$metrics/metrics'                    # Prometheus text 0.0.4
The development key is public knowledge: keep this server on loopback. Real keys:
  $build/mote keys create NAMESPACE --data $data
Ctrl-C stops the server.
MSG
wait $server
