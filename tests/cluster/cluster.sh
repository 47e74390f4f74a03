#!/usr/bin/env bash
# make cluster-test: N nodes of mote serve --cluster as one platform, on
# loopback (nodes on 127.0.0.N, a 3-member etcd on free ports, temporary
# data): the issue's proof, step by step, each waiting for states.
#
#   deploy on one node, served by all (and the time it took); kill -9 of the
#   deploying node right after its 201: nothing lost; a restarted node
#   rejoins; a new empty node catches up (compiled objects from peers); a
#   delete reaches all; a key made through the cluster works on every node;
#   a forwarded call; activations and usage from any node; drain; cluster-
#   wide namespace limits; an etcd member killed: no call fails; etcd
#   stopped: calls served, deploys 503; etcd back: deploys work; peers'
#   routes want the secret.
# usage: tests/cluster/cluster.sh BUILD_DIR
set -u
build=${1:-build}
test_name=cluster
. "$(dirname "$0")/../server/server_lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

for tool in etcd haproxy; do
  command -v $tool >/dev/null || { echo "cluster: $tool is missing (scripts/deps.sh)"; exit 1; }
done

cat >"$tmp/hello.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  const char *v = getenv("V");
  printf("hello from %s v%s with %d argument(s)\n", argv[0], v ? v : "?", argc - 1);
  return 0;
}
C
clang-19 --target=wasm32-wasi -O2 "$tmp/hello.c" -o "$tmp/hello.wasm" || { echo "clang-19 failed"; exit 1; }
# A bundle: the module and a file its calls read.
cat >"$tmp/cat.c" <<'C'
#include <stdio.h>
int main(void) {
  FILE *f = fopen("/data/greeting.txt", "r");
  if (!f) return 1;
  char buf[256]; size_t n = fread(buf, 1, sizeof buf, f);
  fwrite(buf, 1, n, stdout);
  return 0;
}
C
clang-19 --target=wasm32-wasi -O2 "$tmp/cat.c" -o "$tmp/cat.wasm" || exit 1
mkdir -p "$tmp/bundle/data" && cp "$tmp/cat.wasm" "$tmp/bundle/main.wasm" &&
  echo "hello from the bundle's file" >"$tmp/bundle/data/greeting.txt" &&
  tar czf "$tmp/cat.tgz" -C "$tmp/bundle" .

ms() { echo $(( $(date +%s%N) / 1000000 )); }
# A state waited for in an until-loop: 2 minutes at most, only against a hang
# (then the check that follows fails and says so). Each loop arms it anew.
wait_from=
bounded() {
  [ -n "$wait_from" ] || wait_from=$SECONDS
  if [ $((SECONDS - wait_from)) -ge 120 ]; then
    echo "  (gave up waiting at line ${BASH_LINENO[0]})" >&2
    wait_from=
    return 1
  fi
}
deploy_on() { # NODE NAME FILE [QUERY]
  local type=application/wasm
  case "$3" in *.tgz) type=application/gzip ;; esac
  on "$1" PUT "/v1/functions/$2${4:+?$4}" -H "Content-Type: $type" --data-binary "@$3"
}

# ---- a 3-member etcd and three nodes ------------------------------------------------------
etcd_start 3 || exit 1
for n in a b c; do node_start $n || exit 1; done
check "three nodes joined" "$([ "$(curl -s "${node_ops[a]}/healthz" | jq -r .nodes)" = 3 ]; echo $?)" \
  "$(curl -s "${node_ops[a]}/healthz")"

# ---- a deploy on one node is served by all --------------------------------------------------
t0=$(ms)
deploy_on a hello "$tmp/hello.wasm" "public=true&env=V=1"
check "deploy on a: 201" "$([ "$code" = 201 ] && [ "$(jget .version)" = 1 ]; echo $?)" "$code $body"
t_ack=$(ms)
wait_served hello 1 a b c
t_all=$(ms)
echo "  deploy on a: 201 after $((t_ack - t0)) ms; served by a, b, c (each itself) after $((t_all - t0)) ms" >&2
ok=0
for n in a b c; do
  on $n GET /faas/hello
  [ "$code" = 200 ] && [ "$body" = "hello from hello v1 with 0 argument(s)" ] && [ -z "$(header X-Mote-Node)" ] || ok=1
done
check "every node runs it itself" $ok "$code $body"
deploy_on b bundle "$tmp/cat.tgz" "public=true"
wait_served bundle 1 a b c
on c GET /faas/bundle
check "a bundle deployed on b: its files on c" \
  "$([ "$code" = 200 ] && [ "$body" = "hello from the bundle's file" ]; echo $?)" "$code $body"

# ---- a slow function does not hold back the others' apply ----------------------------------
# Its mote_init takes 10 s on every node. A node applies functions on several
# threads (one until stop 30): a function deployed meanwhile is served on b
# and c while they still initialise the slow one. The 10 s are the margin of
# the order checked (the other's apply, a cache hit, takes 0.1-0.3 s here),
# not a wait: every step waits for a state.
cat >"$tmp/slowinit.c" <<'C'
#include <time.h>
__attribute__((export_name("mote_init"))) void mote_init(void) {
  struct timespec t = {10, 0};
  nanosleep(&t, NULL);
}
int main(void) { return 0; }
C
clang-19 --target=wasm32-wasi -O2 "$tmp/slowinit.c" -o "$tmp/slowinit.wasm" || exit 1
deploy_on a slowinit "$tmp/slowinit.wasm" "public=true"
check "a function whose mote_init takes 10 s: 201" "$([ "$code" = 201 ]; echo $?)" "$code $body"
deploy_on a quick1 "$tmp/hello.wasm" "public=true"
check "a function deployed meanwhile: 201" "$([ "$code" = 201 ]; echo $?)" "$code $body"
wait_served quick1 1 b c
check "b and c serve it" $? ""
slow_served=
for n in b c; do
  got=$(curl -s --max-time 5 ${auth:+-u "$auth"} "${node_url[$n]}/v1/functions/slowinit" |
    jq -r 'if .tier != null and .tier != "not loaded" then .version else 0 end' 2>/dev/null)
  [ "$got" = 1 ] && slow_served="$slow_served $n"
done
check "b and c serve a function deployed while they initialise a slow one" \
  "$([ -z "$slow_served" ]; echo $?)" "already serving the slow one:$slow_served"
wait_served slowinit 1 b c
check "b and c serve the slow one once initialised" $? ""
on a DELETE /v1/functions/slowinit
on a DELETE /v1/functions/quick1
wait_converged

# ---- the peers' routes want the cluster secret ---------------------------------------------
h=$(on a GET /v1/functions/hello >/dev/null; jget .module_hash)
code=$(curl -s -o /dev/null -w '%{http_code}' "${node_url[b]}/cluster/v1/blobs/$h")
check "a blob without the secret: 401" "$([ "$code" = 401 ]; echo $?)" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Mote-Cluster-Secret: $(printf '%064d' 0)" \
  "${node_url[b]}/cluster/v1/blobs/$h")
check "a blob with a wrong secret: 401" "$([ "$code" = 401 ]; echo $?)" "$code"

# ---- kill -9 of the deploying node right after its 201: nothing is lost -----------------------
deploy_on c survivor "$tmp/hello.wasm" "public=true&env=V=7"
check "deploy on c: 201" "$([ "$code" = 201 ]; echo $?)" "$code $body"
node_kill c
wait_served survivor 1 a b
ok=0
for n in a b; do on $n GET /faas/survivor; [ "$code" = 200 ] && [ "$body" = "hello from survivor v7 with 0 argument(s)" ] || ok=1; done
check "c killed -9 after its 201: a and b serve what it deployed" $ok "$code $body"

# ---- a restarted node rejoins on its old data ------------------------------------------------
node_start c || exit 1
deploy_on a hello "$tmp/hello.wasm" "public=true&env=V=2"
wait_served hello 2 a b c
on c GET /faas/hello
check "c restarted: rejoined, serves the new version" \
  "$([ "$body" = "hello from hello v2 with 0 argument(s)" ]; echo $?)" "$code $body"

# ---- a new, empty node catches up ----------------------------------------------------------------
node_start d || exit 1
wait_converged d
wait_served hello 2 d && wait_served survivor 1 d && wait_served bundle 1 d
on d GET /faas/bundle
check "d (empty) caught up: serves every function" \
  "$([ "$code" = 200 ] && [ "$body" = "hello from the bundle's file" ]; echo $?)" "$code $body"
fetched=$(curl -s "${node_ops[d]}/metrics" | awk '$1 == "mote_cluster_objects_total{way=\"fetched\"}" { print $2 }')
check "d took compiled objects from its peers" "$([ "${fetched:-0}" -gt 0 ]; echo $?)" "fetched ${fetched:-none}"

# ---- a delete reaches every node ------------------------------------------------------------------
on b DELETE /v1/functions/survivor
check "delete on b: 200" "$([ "$code" = 200 ]; echo $?)" "$code $body"
wait_converged
ok=0
for n in a b c d; do on $n GET /faas/survivor; [ "$code" = 404 ] || ok=1; done
check "deleted on every node (404)" $ok "$code $body"

# ---- a key made through the cluster works on every node, and its delete too ---------------------
key=$("$mote" keys create team --cluster "$etcd_urls")
check "mote keys create --cluster" "$?" "$key"
wait_converged
ok=0
for n in a b c d; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -u "$key" "${node_url[$n]}/v1/functions")
  [ "$code" = 200 ] || ok=1
done
check "the new key opens every node" $ok "$code"
"$mote" keys delete "${key%%:*}" --cluster "$etcd_urls" >/dev/null
wait_converged
ok=0
for n in a b c d; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -u "$key" "${node_url[$n]}/v1/functions")
  [ "$code" = 401 ] || ok=1
done
check "its delete closes every node at once (401)" $ok "$code"

# ---- placement: replicas=1, a forwarded call, activations and usage from any node ---------------
deploy_on a single "$tmp/hello.wasm" "public=true&replicas=1&env=V=3"
wait_converged
placed=$("$mote" cluster status --cluster "$etcd_urls" | jq -r '.functions[] | select(.namespace == "guest" and .name == "single") | .placed | join(",")')
check "replicas=1: placed on one node" "$([ "$(echo "$placed" | tr ',' '\n' | grep -c .)" = 1 ]; echo $?)" "$placed"
wait_served single 1 "$placed"
other=$(for n in a b c d; do [ "$n" != "$placed" ] && echo $n; done | head -1)
on "$other" GET "/faas/single?arg=x"
check "a call on $other is forwarded to $placed: same status and body, X-Mote-Node" \
  "$([ "$code" = 200 ] && [ "$body" = "hello from single v3 with 1 argument(s)" ] &&
     [ "$(header X-Mote-Node)" = "$placed" ] && [ "$(header X-Mote-Version)" = 1 ]; echo $?)" \
  "$code $body node=$(header X-Mote-Node)"
act=$(header X-Mote-Activation-Id)
on "$other" GET "/v1/activations/$act"
check "its activation, asked of $other, comes from $placed" \
  "$([ "$code" = 200 ] && [ "$(jget .id)" = "$act" ] && [ "$(header X-Mote-Node)" = "$placed" ]; echo $?)" \
  "$code $body"
on "$other" GET "/v1/activations?function=single"
check "the activation list of $other has it (every node asked)" \
  "$([ "$code" = 200 ] && jget '.activations[].id' | grep -q "$act"; echo $?)" "$code $body"
on "$other" GET "/v1/usage?function=single"
check "usage from $other counts the call made on $placed" \
  "$([ "$code" = 200 ] && [ "$(jget .total.invocations)" -ge 1 ]; echo $?)" "$code $body"

# ---- a CGI function placed on one node, called with a body on another ---------------------------
cat >"$tmp/cgi.c" <<'C'
#include <stdio.h>
int main(void) {
  printf("Status: 202 Accepted\nContent-Type: text/plain\nX-Custom-Out: yes please\n\n");
  int ch;
  while ((ch = getchar()) != EOF) putchar(ch);
  return 0;
}
C
clang-19 --target=wasm32-wasi -O2 "$tmp/cgi.c" -o "$tmp/cgi.wasm" || exit 1
deploy_on a echo "$tmp/cgi.wasm" "public=true&cgi=true&replicas=1"
wait_converged
cplaced=$("$mote" cluster status --cluster "$etcd_urls" | jq -r '.functions[] | select(.namespace == "guest" and .name == "echo") | .placed | join(",")')
wait_served echo 1 "$cplaced"
cother=$(for n in a b c d; do [ "$n" != "$cplaced" ] && echo $n; done | head -1)
on "$cother" POST /faas/echo -H 'Content-Type: text/plain' --data-binary 'ping through a peer'
check "a CGI function on $cplaced, POSTed on $cother: its status, headers and the body it echoed" \
  "$([ "$code" = 202 ] && [ "$body" = "ping through a peer" ] &&
     [ "$(header X-Custom-Out)" = "yes please" ] && [ "$(header Content-Type)" = text/plain ] &&
     [ "$(header X-Mote-Node)" = "$cplaced" ]; echo $?)" \
  "$code [$body] node=$(header X-Mote-Node) custom=$(header X-Custom-Out)"

# ---- drain: the node's functions move, it serves nothing new -----------------------------------
"$mote" cluster drain "$placed" --cluster "$etcd_urls" >/dev/null
wait_converged
code=$(curl -s -o /dev/null -w '%{http_code}' "${node_url[$placed]}/healthz")
check "drained $placed: /healthz 503 (HAProxy takes it out)" "$([ "$code" = 503 ]; echo $?)" "$code"
moved=$("$mote" cluster status --cluster "$etcd_urls" | jq -r '.functions[] | select(.namespace == "guest" and .name == "single") | .placed | join(",")')
check "its function moved ($placed -> $moved)" "$([ -n "$moved" ] && [ "$moved" != "$placed" ]; echo $?)" "$moved"
wait_served single 1 "$moved"
on "$placed" GET /v1/functions/single
check "$placed no longer serves it" "$([ "$(jget .tier)" = "not loaded" ]; echo $?)" "$body"
deploy_on a fresh "$tmp/hello.wasm" "public=true&env=V=4"
wait_converged
on "$placed" GET /v1/functions/fresh
check "$placed serves nothing new" "$([ "$(jget .tier)" = "not loaded" ]; echo $?)" "$body"
on "$placed" GET /faas/fresh
check "a call reaching $placed is passed on" \
  "$([ "$code" = 200 ] && [ -n "$(header X-Mote-Node)" ]; echo $?)" "$code $body"
"$mote" cluster undrain "$placed" --cluster "$etcd_urls" >/dev/null
wait_converged
wait_served fresh 1 "$placed"
check "undrained: $placed serves again" "$?" ""

# ---- cluster-wide namespace limits ---------------------------------------------------------------
key=$("$mote" keys create limited --cluster "$etcd_urls")
"$mote" namespaces limits limited --per-minute 6 --cluster "$etcd_urls" >/dev/null
wait_converged # the key and the limit on every node
auth=$key
deploy_on a capped "$tmp/hello.wasm"
check "a deploy with the new namespace's key: 201" "$([ "$code" = 201 ]; echo $?)" "$code $body"
wait_served capped 1 a b c d
ok=0; n200=0; n429=0
for round in 1 2 3; do
  for n in a b c d; do
    on $n GET /faas/capped
    case $code in 200) n200=$((n200 + 1)) ;; 429) n429=$((n429 + 1)) ;; *) ok=1 ;; esac
  done
done
auth=$dev_auth
check "6 calls a minute for the cluster: 12 calls on 4 nodes, 6 ran, 6 refused" \
  "$([ $ok = 0 ] && [ $n200 = 6 ] && [ $n429 = 6 ]; echo $?)" "200: $n200, 429: $n429"

# ---- names per namespace: another namespace's hello and single, on every node ----------------------
other=$("$mote" keys create other --cluster "$etcd_urls")
wait_converged
auth=$other
deploy_on b hello "$tmp/hello.wasm" "public=true&env=V=o1"
o1=$code; ov=$(jget .version)
deploy_on c single "$tmp/hello.wasm" "public=true&replicas=1&env=V=o2"
o2=$code
wait_served hello 1 a b c d
check "namespace other deploys its own hello and single: 201, its own numbering" \
  "$([ "$o1" = 201 ] && [ "$ov" = 1 ] && [ "$o2" = 201 ]; echo $?)" "$o1 v$ov $o2"
auth=
ok=0
for n in a b c d; do
  on $n GET /faas/other/hello
  [ "$code" = 200 ] && [ "$body" = "hello from hello vo1 with 0 argument(s)" ] || ok=1
done
on a GET /faas/hello
check "/faas/other/hello on every node is other's; /faas/hello is still guest's" \
  "$([ $ok = 0 ] && [ "$body" = "hello from hello v2 with 0 argument(s)" ]; echo $?)" "$code $body"
wait_converged
oplaced=$("$mote" cluster status --cluster "$etcd_urls" |
  jq -r '.functions[] | select(.namespace == "other" and .name == "single") | .placed | join(",")')
oother=$(for n in a b c d; do [ "$n" != "$oplaced" ] && echo $n; done | head -1)
on "$oother" GET "/faas/other/single?arg=x"
check "other's single (replicas=1, on $oplaced) called on $oother: forwarded, other's answer" \
  "$([ "$code" = 200 ] && [ "$body" = "hello from single vo2 with 1 argument(s)" ] &&
     [ "$(header X-Mote-Node)" = "$oplaced" ]; echo $?)" "$code $body node=$(header X-Mote-Node)"
auth=$dev_auth
on "$oother" GET "/faas/single"
check "guest's single is guest's (v3) wherever it is called" \
  "$([ "$code" = 200 ] && [ "$body" = "hello from single v3 with 0 argument(s)" ]; echo $?)" "$code $body"

# ---- an update and a delete made on one node: calls in flight elsewhere finish on their version ----
cat >"$tmp/slow.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gate.h"
int main(int argc, char **argv) {
  if (argc > 2 && !strcmp(argv[1], "gate") && gate_wait(argv[2]) != 0) return 3;
  printf("version %s\n", getenv("VERSION"));
  return 0;
}
C
clang-19 --target=wasm32-wasi -O2 -I"$(dirname "$0")/../server/programs" "$tmp/slow.c" \
  -o "$tmp/slow.wasm" && gate_bundle "$tmp/slow.wasm" || exit 1
deploy_on a slow "$tmp/gate.tgz" "public=true&timeout=600000&env=VERSION=1"
fh=$(jget .files_hash)
wait_served slow 1 a b c d
curl -s --max-time 600 -D "$tmp/slow.h" -o "$tmp/slow.out" "${node_url[b]}/faas/slow?arg=gate&arg=update" &
slow_pid=$!
mbase=${node_ops[b]} wait_metric 'mote_function_calls_running{namespace="guest",function="slow"}' 1; running=$?
deploy_on c slow "$tmp/gate.tgz" "public=true&timeout=600000&env=VERSION=2"
v2=$code
wait_served slow 2 a b c d
on b GET /faas/slow
now=$body
gate_dir="$tmp/node-b/files/$fh"; gate_open update
wait $slow_pid
check "an update on c while a call of v1 runs on b: v2 served on b at once ($now)" \
  "$([ $running = 0 ] && [ "$v2" = 201 ] && [ "$now" = "version 2" ]; echo $?)" "running=$running $v2 [$now]"
check "and the call in flight on b finishes on v1" \
  "$([ "$(cat "$tmp/slow.out")" = "version 1" ] && grep -qi '^X-Mote-Version: 1' "$tmp/slow.h"; echo $?)" \
  "[$(cat "$tmp/slow.out")]"
curl -s --max-time 600 -o "$tmp/slow.out" "${node_url[d]}/faas/slow?arg=gate&arg=gone" &
slow_pid=$!
mbase=${node_ops[d]} wait_metric 'mote_function_calls_running{namespace="guest",function="slow"}' 1; running=$?
on a DELETE /v1/functions/slow
deleted=$code
wait_converged
on d GET /faas/slow
gone=$code
gate_dir="$tmp/node-d/files/$fh"; gate_open gone
wait $slow_pid
check "a delete on a while a call runs on d: 404 on d at once, the call finishes on v2" \
  "$([ $running = 0 ] && [ "$deleted" = 200 ] && [ "$gone" = 404 ] && [ "$(cat "$tmp/slow.out")" = "version 2" ]; echo $?)" \
  "running=$running delete $deleted, then $gone, [$(cat "$tmp/slow.out")]"

# ---- a forwarded call whose node freezes: 502 once its lease expires, never run twice ------------
# A call of a function placed on two nodes, made on a third, held on a gate on the first; that node
# stopped (SIGSTOP: its socket still accepts, it answers nothing). The node that passed the call on
# gives up when the frozen one leaves the live nodes, and does not pass it on to the second (the
# call may have run: at most once, as HAProxy does).
calls_of() { # NODE FUNCTION: its calls finished or running there
  curl -s --max-time 5 "${node_ops[$1]}/metrics" | awk -v f="function=\"$2\"" '
    $1 ~ /^mote_calls_total\{/ && index($1, f) { s += $2 }
    $1 ~ /^mote_function_calls_running\{/ && index($1, f) { s += $2 }
    END { print s + 0 }'
}
running_of() { # NODE FUNCTION: its calls running there
  curl -s --max-time 5 "${node_ops[$1]}/metrics" | awk -v f="function=\"$2\"" '
    $1 ~ /^mote_function_calls_running\{/ && index($1, f) { s += $2 } END { print s + 0 }'
}
holder_of() { # FUNCTION NODES...: the node where one call of it runs (waited for)
  local fn=$1 n h=; shift
  wait_from=; until [ -n "$h" ]; do
    for n in "$@"; do [ "$(running_of "$n" "$fn")" = 1 ] && h=$n; done
    [ -n "$h" ] || { bounded || break; sleep 0.02; }
  done
  echo "$h"
}
gate_files "$tmp/slow.wasm" && echo frozen >>"$tmp/gate.d/gates.txt" &&
  tar czf "$tmp/frozen.tgz" -C "$tmp/gate.d" . || exit 1
deploy_on a frozen "$tmp/frozen.tgz" "public=true&replicas=2&timeout=600000&env=VERSION=f"
ffh=$(jget .files_hash)
wait_converged
fplaced=$("$mote" cluster status --cluster "$etcd_urls" |
  jq -r '.functions[] | select(.namespace == "guest" and .name == "frozen") | .placed | join(" ")')
wait_served frozen 1 $fplaced
fcaller=$(for n in a b c d; do [[ " $fplaced " != *" $n "* ]] && echo $n; done | head -1)
t0=$(ms)
curl -s --max-time 60 -o "$tmp/frozen.out" -w '%{http_code}' \
  "${node_url[$fcaller]}/faas/frozen?arg=gate&arg=never" >"$tmp/frozen.code" &
frozen_pid=$!
fholder=$(holder_of frozen $fplaced)
[ -n "$fholder" ] && kill -STOP "${node_pid[$fholder]}"
t1=$(ms)
wait $frozen_pid
t2=$(ms)
echo "  a forwarded call's node stopped: the caller answered $(cat "$tmp/frozen.code") after $((t2 - t1)) ms" >&2
felse=0
for n in $fplaced; do [ "$n" != "$fholder" ] && felse=$((felse + $(calls_of "$n" frozen))); done
check "a call of frozen (on $fplaced) made on $fcaller, held on ${fholder:-?}, ${fholder:-?} stopped: 502 after $((t2 - t1)) ms, not run on the other" \
  "$([ -n "$fholder" ] && [ "$(cat "$tmp/frozen.code")" = 502 ] && [ "$(jq -r .code "$tmp/frozen.out")" = node_failed ] &&
     [ "$felse" = 0 ]; echo $?)" \
  "holder=$fholder code=$(cat "$tmp/frozen.code") $(cat "$tmp/frozen.out") elsewhere=$felse after $((t2 - t0)) ms"
if [ -n "$fholder" ]; then
  kill -CONT "${node_pid[$fholder]}"
  gate_dir="$tmp/node-$fholder/files/$ffh"
  gate_open never
  wait_from=; until [ "$(curl -s --max-time 5 "${node_url[$fholder]}/healthz" | jq -r .cluster)" = ok ] &&
                    [ "$(curl -s --max-time 5 "${node_ops[a]}/healthz" | jq -r .nodes)" = 4 ]; do
    bounded || break; sleep 0.02
  done
  wait_converged
fi
# The same, the node killed -9 after a first call kept a connection to it open: libcurl sends a
# request again by itself when a kept-alive connection dies under it (the retry's connect is then
# refused); the call was delivered, so 502, and not run on the other placed node.
on "$fcaller" GET /faas/frozen
warm="$code $(header X-Mote-Node)"
curl -s --max-time 60 -o "$tmp/killed.out" -w '%{http_code}' \
  "${node_url[$fcaller]}/faas/frozen?arg=gate&arg=killed" >"$tmp/killed.code" &
killed_pid=$!
kholder=$(holder_of frozen $fplaced)
[ -n "$kholder" ] && node_kill "$kholder"
wait $killed_pid
kother=$(for n in $fplaced; do [ "$n" != "$kholder" ] && echo "$n"; done | head -1)
check "a call of frozen held on ${kholder:-?} after a first call ($warm), ${kholder:-?} killed -9: 502, not run on the other" \
  "$([ -n "$kholder" ] && [ "$(cat "$tmp/killed.code")" = 502 ] &&
     [ "$(jq -r .code "$tmp/killed.out")" = node_failed ] && [ "${warm%% *}" = 200 ] &&
     [ "$(running_of "$kother" frozen)" = 0 ]; echo $?)" \
  "holder=$kholder code=$(cat "$tmp/killed.code") $(cat "$tmp/killed.out") warm=$warm running on $kother: $(running_of "$kother" frozen)"
if [ -n "$kholder" ]; then
  node_start "$kholder" || exit 1
  wait_converged
fi
on "$fcaller" DELETE /v1/functions/frozen

# ---- a deploy whose first peer is frozen: its bytes go to the next once it leaves ---------------
# A deploy pushes its bytes to the first live peer in the function's placement order before its
# 201; that peer stopped (SIGSTOP), the push gives up when it leaves the live nodes and the next
# peer takes them (it waited CL_PEER_TIMEOUT_S, 300 s, before). The name is one whose placement
# (replicas=1) puts a node other than a first: a tries that one first.
pname=; pfirst=
for i in $(seq 1 16); do
  deploy_on a "probe$i" "$tmp/hello.wasm" "public=true&replicas=1"
  wait_converged
  p=$("$mote" cluster status --cluster "$etcd_urls" |
    jq -r --arg n "probe$i" '.functions[] | select(.namespace == "guest" and .name == $n) | .placed | join(",")')
  on a DELETE "/v1/functions/probe$i"
  if [ -n "$p" ] && [ "$p" != a ]; then pname=probe$i; pfirst=$p; break; fi
done
wait_converged
[ -n "$pfirst" ] && kill -STOP "${node_pid[$pfirst]}"
t0=$(ms)
[ -n "$pname" ] && deploy_on a "$pname" "$tmp/hello.wasm" "public=true&replicas=1"
t1=$(ms)
echo "  a deploy whose first peer ($pfirst) is stopped: $code after $((t1 - t0)) ms" >&2
check "a deploy on a whose first peer ${pfirst:-?} is stopped: 201 once it left (pushed to another)" \
  "$([ -n "$pfirst" ] && [ "$code" = 201 ]; echo $?)" "$pname on $pfirst: $code $body after $((t1 - t0)) ms"
if [ -n "$pfirst" ]; then
  kill -CONT "${node_pid[$pfirst]}"
  wait_from=; until [ "$(curl -s --max-time 5 "${node_url[$pfirst]}/healthz" | jq -r .cluster)" = ok ] &&
                    [ "$(curl -s --max-time 5 "${node_ops[a]}/healthz" | jq -r .nodes)" = 4 ]; do
    bounded || break; sleep 0.02
  done
  wait_converged
  on a DELETE "/v1/functions/$pname"
fi

# ---- an etcd member killed: no call fails ---------------------------------------------------------
: >"$tmp/calls"
(
  i=0
  while [ ! -e "$tmp/calls.stop" ]; do
    for n in a b c d; do
      c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "${node_url[$n]}/faas/hello")
      echo "$c" >>"$tmp/calls"
    done
  done
) &
loop=$!
wait_from=; until [ "$(wc -l <"$tmp/calls")" -ge 40 ]; do bounded || break; sleep 0.02; done
etcd_kill 0
before=$(wc -l <"$tmp/calls")
wait_from=; until [ "$(wc -l <"$tmp/calls")" -ge $((before + 80)) ]; do bounded || break; sleep 0.02; done
touch "$tmp/calls.stop"; wait $loop
bad=$(grep -vc '^200$' "$tmp/calls")
check "etcd member 0 killed during $(wc -l <"$tmp/calls") calls: none failed" "$([ "$bad" = 0 ]; echo $?)" "$bad failed"
deploy_on b quorum "$tmp/hello.wasm" "public=true"
check "two of three members: deploys work" "$([ "$code" = 201 ]; echo $?)" "$code $body"
wait_served quorum 1 a b c d

# ---- etcd stopped: calls served, changes 503; etcd back: deploys work ----------------------------
etcd_kill 1; etcd_kill 2
wait_from=; until [ "$(curl -s "${node_url[a]}/healthz" | jq -r .cluster)" = unreachable ]; do bounded || break; sleep 0.02; done
ok=0
for n in a b c d; do on $n GET /faas/hello; [ "$code" = 200 ] || ok=1; done
check "etcd stopped: every node serves calls" $ok "$code $body"
on a GET /healthz
check "/healthz says the cluster is unreachable (200)" \
  "$([ "$code" = 200 ] && [ "$(jget .cluster)" = unreachable ]; echo $?)" "$code $body"
reach=$(curl -s "${node_ops[b]}/metrics" | awk '$1 == "mote_cluster_reachable" { print $2 }')
check "/metrics: mote_cluster_reachable 0" "$([ "$reach" = 0 ]; echo $?)" "$reach"
deploy_on c late "$tmp/hello.wasm"
check "a deploy: 503 with a clear message" \
  "$([ "$code" = 503 ] && [ "$(jget .code)" = cluster_unavailable ] && jget .error | grep -q "etcd"; echo $?)" "$code $body"
on d DELETE /v1/functions/hello
check "a delete: 503" "$([ "$code" = 503 ]; echo $?)" "$code $body"
"$mote" keys create later --cluster "$etcd_urls" >"$tmp/k.out" 2>"$tmp/k.err"
rc=$?
check "a key change: refused, exit 75, says etcd does not answer" \
  "$([ $rc = 75 ] && grep -q "does not answer" "$tmp/k.err"; echo $?)" "$rc $(cat "$tmp/k.err")"
for i in 0 1 2; do etcd_restart $i; done
for n in a b c d; do
  wait_from=; until [ "$(curl -s "${node_url[$n]}/healthz" | jq -r .cluster)" = ok ]; do bounded || break; sleep 0.02; done
done
deploy_on c late "$tmp/hello.wasm" "public=true"
check "etcd back: deploys work again" "$([ "$code" = 201 ]; echo $?)" "$code $body"
wait_served late 1 a b c d
check "and every node serves it" "$?" ""

# ---- HAProxy in front: a node killed -9 is taken out, calls through it go on --------------------
haproxy_start || exit 1
for n in $(live_nodes); do
  wait_from=; until [ "$(hap_server "${node_url[$n]}" | cut -d' ' -f1)" = UP ]; do bounded || break; sleep 0.02; done
done
declare -A stot
for n in $(live_nodes); do stot[$n]=$(hap_server "${node_url[$n]}" | cut -d' ' -f2); done
ok=0
for i in $(seq 10); do
  c=$(curl -s -o "$tmp/hap.body" -w '%{http_code}' --max-time 20 "$hap_url/faas/hello?arg=$i")
  [ "$c" = 200 ] && [ "$(cat "$tmp/hap.body")" = "hello from hello v2 with 1 argument(s)" ] || ok=1
done
check "HAProxy (mote cluster haproxy-config) before the nodes: 10 calls of hello, 200" $ok "$c"
victim=
for n in $(live_nodes); do
  now=$(hap_server "${node_url[$n]}" | cut -d' ' -f2)
  [ $((now - ${stot[$n]})) -ge 10 ] && victim=$n
done
check "balance uri: the 10 calls of /faas/hello (other queries) went to one node ($victim)" \
  "$([ -n "$victim" ]; echo $?)" "$(curl -s "$hap_stats" | cut -d, -f1,2,8,18,74)"
node_kill "$victim"
wait_from=; until [ "$(hap_server "${node_url[$victim]}" | cut -d' ' -f1)" != UP ]; do bounded || break; sleep 0.02; done
ok=0
for i in $(seq 20); do
  c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$hap_url/faas/hello?arg=$i")
  [ "$c" = 200 ] || ok=1
done
check "$victim killed -9: HAProxy took it out ($(hap_server "${node_url[$victim]}" | cut -d' ' -f1)), 20 calls through it: 200" $ok "$c"
wait_from=; until hap_server "${node_url[$victim]}" | grep -q '^MAINT'; do bounded || break; sleep 0.02; done
check "its lease expired: haproxy-sync put its slot in maintenance (runtime API)" \
  "$(hap_server "${node_url[$victim]}" | grep -q '^MAINT'; echo $?)" "$(hap_server "${node_url[$victim]}")"

# ---- a dead node's functions are placed elsewhere when its lease expires -------------------------
placed_of() { "$mote" cluster status --cluster "$etcd_urls" |
  jq -r '.functions[] | select(.namespace == "guest" and .name == "single") | .placed | join(",")'; }
dead=$(placed_of)
[ -n "${node_pid[$dead]:-}" ] && node_kill "$dead"
wait_from=; until moved=$(placed_of) && [ -n "$moved" ] && [ "$moved" != "$dead" ]; do bounded || break; sleep 0.02; done
wait_served single 1 "$moved"
ok=0
for n in $(live_nodes); do
  on $n GET /faas/single
  [ "$code" = 200 ] && [ "$body" = "hello from single v3 with 0 argument(s)" ] || ok=1
done
check "replicas=1 on $dead, killed -9: placed on $moved when its lease expired; every live node answers its calls" \
  $ok "$code $body"
check "/healthz counts the live nodes ($(live_nodes | wc -l))" \
  "$([ "$(curl -s "${node_ops[$moved]}/healthz" | jq -r .nodes)" = "$(live_nodes | wc -l)" ]; echo $?)" \
  "$(curl -s "${node_ops[$moved]}/healthz")"

# ---- HAProxy does not replay a call a node had received: at most once ----------------------------
# A call through HAProxy held in flight on its node (a gate that never opens), that node killed
# -9: the caller gets HAProxy's 502 and no other node runs it (`retry-on conn-failure` replays
# only what no node received; a replay would hold the caller on another node's gate).
calls_of_held() { calls_of "$1" held; } # NODE
# its own file set: the gates opened above wrote into the stored copies of gate.tgz's files
gate_files "$tmp/slow.wasm" && echo held >>"$tmp/gate.d/gates.txt" &&
  tar czf "$tmp/held.tgz" -C "$tmp/gate.d" . || exit 1
deploy_on "$(live_nodes | head -1)" held "$tmp/held.tgz" "public=true&timeout=600000&env=VERSION=h"
[ "$code" = 201 ] || echo "  (deploy of held: $code $body)" >&2
wait_served held "$(jget .version)" $(live_nodes)
for n in "${!node_url[@]}"; do # HAProxy's view settled: the live nodes UP, the dead ones not
  wait_from=
  while st=$(hap_server "${node_url[$n]}" | cut -d' ' -f1); \
        if [ -n "${node_pid[$n]}" ]; then [ "$st" != UP ]; else [ "$st" = UP ]; fi; do
    bounded || break; sleep 0.02
  done
done
curl -s --max-time 120 -o "$tmp/held.out" -w '%{http_code}' "$hap_url/faas/held?arg=gate&arg=never" \
  >"$tmp/held.code" &
held_pid=$!
holder=
wait_from=; until [ -n "$holder" ]; do
  for n in $(live_nodes); do [ "$(calls_of_held "$n")" = 1 ] && holder=$n; done
  [ -n "$holder" ] || { bounded || break; sleep 0.02; }
done
[ -n "$holder" ] && node_kill "$holder"
wait $held_pid
elsewhere=0
for n in $(live_nodes); do elsewhere=$((elsewhere + $(calls_of_held "$n"))); done
check "a call held on ${holder:-?} through HAProxy, ${holder:-?} killed -9: 502, and no other node ran it" \
  "$([ -n "$holder" ] && [ "$(cat "$tmp/held.code")" = 502 ] && [ $elsewhere = 0 ] &&
     [ "$(live_nodes | wc -l)" -ge 1 ]; echo $?)" \
  "holder=$holder code=$(cat "$tmp/held.code") calls elsewhere=$elsewhere live=$(live_nodes | tr '\n' ' ')"

echo "cluster: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
