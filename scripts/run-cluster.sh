#!/usr/bin/env bash
# `make run-cluster`: a cluster on loopback in the foreground: one etcd member
# (its data in a temporary directory, on free ports; never the system's etcd),
# three nodes of `mote serve --dev --cluster` on 127.0.0.2-4 (their data
# temporary too), HAProxy in front on 127.0.0.1:8080 (its config from
# `mote cluster haproxy-config`, kept current by `mote cluster haproxy-sync`),
# the example functions (make functions) and hello deployed through node a.
# Prints what to try; Ctrl-C stops everything.
# usage: scripts/run-cluster.sh BUILD_DIR [HAPROXY_PORT]
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
hport=${2:-8080}
test_name=run-cluster
command -v etcd >/dev/null && command -v haproxy >/dev/null || scripts/deps.sh || exit 1
. tests/server/server_lib.sh
. tests/cluster/cluster_lib.sh

etcd_start 1 || exit 1
for n in a b c; do node_start $n || exit 1; done

hap_port_free=$(curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$hport/" && echo no || echo yes)
[ "$hap_port_free" = yes ] || { echo "make run-cluster: 127.0.0.1:$hport is taken" >&2; exit 1; }
"$mote" cluster haproxy-config --cluster "$etcd_urls" --bind "127.0.0.1:$hport" \
  --socket "$tmp/haproxy.sock" --out "$tmp/haproxy.cfg" || exit 1
haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
hap_pid=$!
until [ -S "$tmp/haproxy.sock" ]; do
  kill -0 $hap_pid 2>/dev/null || { echo "haproxy did not start: $(cat "$tmp/haproxy.log")" >&2; exit 1; }
  sleep 0.05
done
"$mote" cluster haproxy-sync --cluster "$etcd_urls" --socket "$tmp/haproxy.sock" \
  >>"$tmp/haproxy-sync.log" 2>&1 &
sync_pid=$!
base="http://127.0.0.1:$hport"

export MOTE_AUTH=$dev_auth
clang-19 --target=wasm32-wasi -O2 bench/programs/hello.c -o "$tmp/hello.wasm" &&
  curl -sf --max-time 60 -u "$MOTE_AUTH" -X PUT -H 'Content-Type: application/wasm' \
    --data-binary "@$tmp/hello.wasm" "${node_url[a]}/v1/functions/hello?timeout=5000&memory=64&public=true" >/dev/null ||
  echo "make run-cluster: could not build or deploy hello" >&2
curl -sf --max-time 60 -u "$MOTE_AUTH" -X PUT -H 'Content-Type: application/wasm' \
  --data-binary "@$tmp/hello.wasm" "${node_url[a]}/v1/functions/one?public=true&replicas=1" >/dev/null ||
  echo "make run-cluster: could not deploy one (hello with replicas=1)" >&2
scripts/deploy-functions.sh "$build" "${node_url[a]}" ||
  echo "make run-cluster: could not deploy the example functions (built by make functions)" >&2
wait_converged a b c

img="$build/functions/images/flower.jpg"
cat <<MSG

A mote cluster on loopback: etcd at $etcd_urls, nodes
  a ${node_url[a]}   b ${node_url[b]}   c ${node_url[c]}
and HAProxy in front at $base (balance uri: each /faas/NAME on one node while it is up).
The nodes' operator addresses (/metrics, the full /healthz): a ${node_ops[a]}, b ${node_ops[b]}, c ${node_ops[c]}.
  curl '$base/faas/hello?arg=world'                 # through HAProxy
  curl -i '${node_url[b]}/faas/lpr?arg=ABC1234'     # any node answers any call
  curl -i '${node_url[b]}/faas/one'                 # one (replicas=1): on one node, passed on (X-Mote-Node)
  curl --data-binary @$img '$base/faas/resize?arg=50' -o small.jpg
  $mote cluster status --cluster $etcd_urls        # nodes, functions, placement
  $mote cluster drain b --cluster $etcd_urls       # b's functions move; HAProxy takes it out
  $mote cluster undrain b --cluster $etcd_urls
  kill -9 ${node_pid[c]}                                       # c dies: HAProxy takes it out within 1 s
  export MOTE_AUTH=$MOTE_AUTH
  curl -u \$MOTE_AUTH -X PUT -H 'Content-Type: application/wasm' --data-binary @F.wasm '${node_url[c]}/v1/functions/NAME'
Ctrl-C stops etcd, the nodes and HAProxy (their data was temporary).
MSG
trap 'exit 0' INT TERM
wait "${node_pid[a]}"
