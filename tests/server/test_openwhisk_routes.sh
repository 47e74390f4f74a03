#!/usr/bin/env bash
# OpenWhisk's API (/api/v1) of `mote serve`, end to end with curl and jq:
# what the npm client's round trip (tests/openwhisk) does not reach: 409
# without overwrite, list limit/skip/count and OpenWhisk's messages for bad
# values, activation filters (upto, skip, docs, count), URLs ending in a
# bare '?', error bodies, a blocking invoke past its wait (202), a kind
# other than wasm:0.1, the same action through /faas.
# usage: test_openwhisk_routes.sh BUILD_DIR
set -u
build=${1:-build}
test_name=owroutes
here=$(cd "$(dirname "$0")" && pwd)
. "$here/server_lib.sh"

clang-19 --target=wasm32-wasi -O2 "$here/../openwhisk/actions/echo.c" -o "$tmp/echo.wasm" ||
  { echo "clang-19 failed"; exit 1; }
code64=$(base64 -w0 "$tmp/echo.wasm")
action_body() { # [extra JSON fields]: a PUT body in a file, its name printed (@file for curl)
  printf '{"exec":{"kind":"wasm:0.1","code":"%s"}%s}' "$code64" "${1:-}" >"$tmp/put.json"
  echo "@$tmp/put.json"
}
ok() { [ "$1" ] && echo 0 || echo 1; }
# An OpenWhisk error reply: the status, JSON, both fields, the code a transaction id.
ow_error() { # STATUS [MESSAGE]
  [ "$code" = "$1" ] && [[ "$(header Content-Type)" == application/json* ]] &&
    [[ "$(jget .code)" =~ ^[0-9a-f]{32}$ ]] && [ -n "$(jget .error)" ] &&
    { [ $# -lt 2 ] || [ "$(jget .error)" = "$2" ]; }
}
A=/api/v1/namespaces/_

start_server 4
check "server starts" $? "$(cat "$tmp/err")"

# ---- info and the bare '?' -------------------------------------------------------
req_as "" GET "/api/v1?"
[ "$code" = 200 ] && [ "$(jget '.api_version, .api_version_path')" = "1.0.0 v1" ]
check "GET /api/v1? needs no key" $? "$code $body"
req_as "" GET "$A/actions?"
ow_error 401 "The resource requires authentication, which was not supplied with the request" &&
  [ "$(header WWW-Authenticate)" = 'Basic realm="OpenWhisk secure realm"' ]
check "no key: 401, OpenWhisk's message and realm" $? "$code $body"
req GET "/api/v1/namespaces/someone/actions?"
ow_error 403 "The supplied authentication is not authorized to access this resource."
check "another namespace: 403" $? "$code $body"
req GET "/api/v1/namespaces/_/triggers"
ow_error 404 "The requested resource does not exist."
check "no such route (triggers): 404" $? "$code $body"
req PATCH "$A/actions/e"
ow_error 405
check "PATCH an action: 405" $? "$code $body"

# ---- create, 409, overwrite ------------------------------------------------------
req PUT "$A/actions/e?" -H 'Content-Type: application/json' --data-binary "$(action_body)"
[ "$code" = 200 ] && [ "$(jget '.name, .namespace, .version, .exec.kind')" = "e guest 0.0.1 wasm:0.1" ]
check "create (URL ending in ?)" $? "$code $body"
req PUT "$A/actions/e" -H 'Content-Type: application/json' --data-binary "$(action_body)"
ow_error 409 "resource already exists"
check "again without overwrite: 409" $? "$code $body"
req PUT "$A/actions/e?overwrite=false" -H 'Content-Type: application/json' \
  --data-binary '{"limits":{"timeout":5000}}'
ow_error 409
check "overwrite=false: 409" $? "$code $body"
req PUT "$A/actions/e?overwrite=true" -H 'Content-Type: application/json' \
  --data-binary '{"parameters":[{"key":"p","value":1}]}'
[ "$code" = 200 ] && [ "$(jget '.version, .parameters[0].key, .limits.timeout')" = "0.0.2 p 60000" ]
check "overwrite=true: an update, 0.0.2" $? "$code $body"
req PUT "$A/actions/js" -H 'Content-Type: application/json' \
  --data-binary '{"exec":{"kind":"nodejs:20","code":"function main() {}"}}'
ow_error 400 "$(printf 'The request content was malformed:\nkind %s not in Set(wasm:0.1)' "'nodejs:20'")"
check "another kind: 400 with OpenWhisk's message" $? "$code $body"
req PUT "$A/actions/big" -H 'Content-Type: application/json' \
  --data-binary "$(action_body ',"limits":{"timeout":50}')"
ow_error 400 "$(printf 'The request content was malformed:\nduration 50 milliseconds below allowed threshold of 100 milliseconds')"
check "a timeout below OpenWhisk's range: 400" $? "$code $body"
req PUT "$A/actions/bad" -H 'Content-Type: application/json' --data-binary '{"exec":'
ow_error 400
check "a malformed body: 400" $? "$code $body"

# ---- list: limit, skip, count ----------------------------------------------------
for n in a1 a2 a3; do
  req PUT "$A/actions/$n" -H 'Content-Type: application/json' --data-binary "$(action_body)"
done
req GET "$A/actions?limit=2"
[ "$code" = 200 ] && [ "$(jget 'length')" = 2 ] && [ "$(jget '.[0].name')" = a3 ] &&
  [ "$(jget '.[0].exec.binary, (.[0].exec.code // "none")')" = "true none" ]
check "list limit=2: the newest first, no code" $? "$code $body"
req GET "$A/actions?skip=3&limit=5"
[ "$code" = 200 ] && [ "$(jget 'map(.name) | join(",")')" = e ]
check "list skip=3" $? "$code $body"
req GET "$A/actions?count=true"
[ "$code" = 200 ] && [ "$body" = '{"actions":4}' ]
check "list count=true" $? "$code $body"
req GET "$A/actions?limit=201"
ow_error 400 "The value '201' is not in the range of 0 to 200 for actions."
check "limit=201: 400, OpenWhisk's message" $? "$code $body"
req GET "$A/actions?limit=many"
ow_error 400 "The value 'many' is not an integer for actions."
check "limit=many: 400" $? "$code $body"
req GET "$A/actions?skip=-1"
ow_error 400 "The value '-1' is not greater than or equal to 0 for actions."
check "skip=-1: 400" $? "$code $body"

# ---- get with and without code; delete ------------------------------------------
req GET "$A/actions/a1?code=false"
[ "$code" = 200 ] && [ "$(jget '.exec.code // "none"')" = none ]
check "get code=false" $? "$code $body"
req GET "$A/actions/a1"
[ "$code" = 200 ] && [ "$(jget .exec.code)" = "$code64" ]
check "get: the module as base64" $? "$code"
req DELETE "$A/actions/a1"
[ "$code" = 200 ] && [ "$(jget .name)" = a1 ]
check "delete: the deleted action" $? "$code $body"
req GET "$A/actions/a1"
ow_error 404 "The requested resource does not exist."
check "then 404" $? "$code $body"

# ---- invokes and activation filters ----------------------------------------------
ids=()
for i in 1 2 3; do
  req POST "$A/actions/e?blocking=true" -H 'Content-Type: application/json' --data-binary "{\"i\":$i}"
  ids+=("$(jget .activationId)")
  [ "$code" = 200 ] && [ "$(header x-openwhisk-activation-id)" = "${ids[-1]}" ] || break
  # Distinct start times (ms, the filters below tell them apart): the next
  # invoke waits until the clock has passed this one's start.
  start=$(jget .start)
  while [[ "$start" =~ ^[0-9]+$ ]] && [ "$(date +%s%3N)" -le "$start" ]; do sleep 0.001; done
done
[ "${#ids[@]}" = 3 ] && [ "$code" = 200 ] && [ "$(jget '.response.result.params.i, .response.result.argv1.p')" = "3 1" ]
check "three blocking invokes (params on stdin and argv[1], the action's merged)" $? "$code $body"
req GET "$A/activations/${ids[1]}"
start2=$(jget .start)
req GET "$A/activations?name=e&limit=1&skip=1"
[ "$code" = 200 ] && [ "$(jget 'length, .[0].activationId')" = "1 ${ids[1]}" ] &&
  [ "$(jget '(.[0].logs // "none"), (.[0].response // "none")')" = "none none" ]
check "activations skip=1 limit=1: summaries" $? "$code $body"
req GET "$A/activations?name=e&upto=$start2"
[ "$code" = 200 ] && [ "$(jget 'map(.activationId) | join(",")')" = "${ids[1]},${ids[0]}" ]
check "activations upto (inclusive)" $? "$code $body"
req GET "$A/activations?name=e&since=$start2&docs=true"
[ "$code" = 200 ] && [ "$(jget 'length, .[0].response.result.params.i, (.[0].logs | length)')" = "2 3 2" ]
check "activations since, docs=true: whole records" $? "$code $body"
req GET "$A/activations?name=e&count=true"
[ "$code" = 200 ] && [ "$body" = '{"activations":3}' ]
check "activations count=true" $? "$code $body"
req GET "$A/activations?name=e&count=true&since=$start2"
c1="$code $body"
req GET "$A/activations?name=e&count=true&upto=$start2&limit=1&skip=2"
[ "$c1" = '200 {"activations":2}' ] && [ "$code" = 200 ] && [ "$body" = '{"activations":2}' ]
check "activations count=true counts what since or upto keep (skip and limit as OpenWhisk: ignored)" $? "$c1; $code $body"
req GET "$A/activations?upto=soon"
ow_error 400
check "activations upto=soon: 400" $? "$code $body"
req GET "$A/activations/${ids[0]}/result?"
[ "$code" = 200 ] && [ "$(jget '.status, .success, .result.params.i')" = "success true 1" ]
check "activation result" $? "$code $body"
req GET "$A/activations/${ids[0]}/logs"
[ "$code" = 200 ] && [ "$(jget '.logs | length')" = 2 ] &&
  [[ "$(jget '.logs[0]')" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{18}Z\ stdout:\ hello\ from\ stdout$ ]]
check "activation logs: OpenWhisk's line format" $? "$code $body"
req GET "$A/activations/0123456789abcdef0123456789abcdef"
ow_error 404
check "an unknown activation: 404" $? "$code $body"

req POST "$A/actions/e?blocking=true" -H 'Content-Type: application/json' --data-binary '[1]'
ow_error 400
check "a payload that is no object: 400" $? "$code $body"
req POST "$A/actions/e?blocking=true&result=true" -H 'Content-Type: application/json' \
  --data-binary '{"fail":true}'
[ "$code" = 502 ] && [ "$body" = '{"error":"failed on request"}' ]
check "an application error with result=true: 502, the result" $? "$code $body"
req POST "$A/actions/nothing?blocking=true"
ow_error 404
check "invoke of no action: 404" $? "$code $body"

# ---- past the wait: 202, the run goes on --------------------------------------------
# The run waits at a gate (server_lib.sh) until the 202 is in: a zip action
# of echo.wasm, whose files are where the gate opens.
gate_zip "$tmp/echo.wasm" || { echo "zip failed"; exit 1; }
printf '{"exec":{"kind":"wasm:0.1","code":"%s"},"limits":{"timeout":300000}}' \
  "$(base64 -w0 "$tmp/gate.zip")" >"$tmp/gated.json"
req PUT "$A/actions/gated" -H 'Content-Type: application/json' --data-binary "@$tmp/gated.json"
gate_of gated
check "a zip action with a gate" $? "$code $body"
req POST "$A/actions/gated?blocking=true&timeout=200" -H 'Content-Type: application/json' \
  --data-binary '{"gate":"late"}'
late=$(jget .activationId)
[ "$code" = 202 ] && [[ "$late" =~ ^[0-9a-f]{32}$ ]] && [ "$(header x-openwhisk-activation-id)" = "$late" ] &&
  [ "$(jget 'keys | join(",")')" = activationId ]
check "blocking past ?timeout=200: 202 with the activationId" $? "$code $body"
gate_open late
until=$((SECONDS + 120)) # a bound only against a hang
while :; do
  req GET "$A/activations/$late"
  [ "$code" = 200 ] || [ $SECONDS -ge $until ] && break
  sleep 0.05
done
[ "$code" = 200 ] && [ "$(jget '.response.status, .response.result.params.gate')" = "success late" ]
check "its run went on to its record" $? "$code $body"
req POST "$A/actions/e" -H 'Content-Type: application/json' --data-binary '{}'
[ "$code" = 202 ] && [[ "$(jget .activationId)" =~ ^[0-9a-f]{32}$ ]]
check "non-blocking: 202" $? "$code $body"

# ---- the same function through /faas: raw stdin and argv ----------------------------
req POST "/faas/e?arg=raw" --data-binary 'plain text'
[ "$code" = 200 ] && grep -q '"params":plain text,"argv1":raw}' "$tmp/b"
check "/faas/e: raw stdin and argv" $? "$code $body"

# ---- web actions -------------------------------------------------------------------
req_as "" GET "/api/v1/web/guest/default/e.json"
ow_error 404 "The requested resource does not exist."
check "web: not exported, 404" $? "$code $body"
req PUT "$A/actions/w" -H 'Content-Type: application/json' \
  --data-binary "$(action_body ',"annotations":[{"key":"web-export","value":true}]')"
req_as "" GET "/api/v1/web/guest/default/w.json?q=1"
[ "$code" = 200 ] && [ "$(jget '.params.q, .params.__ow_method, .params.__ow_path')" = "1 get " ]
check "web .json: no key, query and __ow_ inputs" $? "$code $body"
req_as "" GET "/api/v1/web/guest/default/w.json?__ow_method=x"
ow_error 400
check "web: a reserved parameter is 400" $? "$code $body"

req PUT "$A/actions/secret" -H 'Content-Type: application/json' \
  --data-binary "$(action_body ',"annotations":[{"key":"web-export","value":true},{"key":"require-whisk-auth","value":"s3cret"}]')"
req_as "" GET "/api/v1/web/guest/default/secret.json"
ow_error 401
check "web, require-whisk-auth: 401 without the secret" $? "$code $body"
req_as "" GET "/api/v1/web/guest/default/secret.json" -H 'X-Require-Whisk-Auth: s3cret'
[ "$code" = 200 ] && [ "$(jget '.params.__ow_headers["x-require-whisk-auth"]')" = s3cret ]
check "web, require-whisk-auth: 200 with it" $? "$code $body"

# A web action's .http headers come from the guest: a header smuggled in through CR LF, a
# name that is not a token, or more headers than a reply holds are OpenWhisk's 400, and the
# server goes on.
cat >"$tmp/hdr.c" <<'C'
#include <stdio.h>
#include <string.h>
int main(void) {
  char in[4096]; size_t n = fread(in, 1, sizeof in - 1, stdin); in[n] = 0;
  if (strstr(in, "\"h\":\"crlf\"")) printf("{\"headers\":{\"X-A\":\"a\\r\\nX-Injected: 1\"},\"body\":\"x\"}\n");
  else if (strstr(in, "\"h\":\"name\"")) printf("{\"headers\":{\"X A\":\"1\"},\"body\":\"x\"}\n");
  else if (strstr(in, "\"h\":\"many\"")) {
    printf("{\"headers\":{");
    for (int i = 0; i < 5000; i++) printf("%s\"X-H%d\":\"v\"", i ? "," : "", i);
    printf("},\"body\":\"x\"}\n");
  } else printf("{\"headers\":{\"X-Ok\":\"yes\"},\"body\":\"fine\"}\n");
  return 0;
}
C
clang-19 --target=wasm32-wasi -O2 "$tmp/hdr.c" -o "$tmp/hdr.wasm" || { echo "clang-19 failed"; exit 1; }
printf '{"exec":{"kind":"wasm:0.1","code":"%s"},"annotations":[{"key":"web-export","value":true}]}' \
  "$(base64 -w0 "$tmp/hdr.wasm")" >"$tmp/hdr.json"
req PUT "$A/actions/hdr" -H 'Content-Type: application/json' --data-binary "@$tmp/hdr.json"
req_as "" GET "/api/v1/web/guest/default/hdr.http"
[ "$code" = 200 ] && [ "$(header X-Ok)" = yes ] && [ "$body" = fine ]
check "web .http: the action's header and body" $? "$code $body"
for h in crlf name many; do
  req_as "" GET "/api/v1/web/guest/default/hdr.http?h=$h"
  ow_error 400 "Response is not valid 'message/http'." && [ -z "$(header X-Injected)" ]
  check "web .http: bad headers from the action ($h) are 400" $? "$code $(head -c 300 "$tmp/b")"
done

# ---- a payload over 1 MB, chunked (no Content-Length): 413 with OpenWhisk's body ------
head -c 1100000 /dev/zero | tr '\0' 'x' >"$tmp/big"
req POST "$A/actions/e?blocking=true" -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' \
  --data-binary "@$tmp/big"
ow_error 413
check "a chunked payload over 1 MB: 413, error and code" $? "$code $body"

echo "test_openwhisk_routes.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
