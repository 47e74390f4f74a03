#!/usr/bin/env bash
# Tenants see nothing of each other (issue 17). Namespace alice deploys and
# calls functions (a private `secret-payroll-fn`, an OpenWhisk action that is
# not a web action); then bob, with his own key, and an anonymous client try
# to learn of them through every route: /metrics, /v1/metrics and /healthz, /faas (with
# and without a namespace in the path, with a body), /v1/functions,
# /v1/activations (alice's ids replayed), /v1/usage, OpenWhisk's /api/v1
# (namespaces, actions, activations, web actions), 403/409s on names, the
# X-Mote-* headers. What exists and may not be seen must answer exactly as
# what does not exist: the same status, headers (but Date) and body (but
# OpenWhisk's transaction id). Alice's figures are on the operator's address,
# and on /v1/metrics with her key.
# usage: test_tenants.sh BUILD_DIR
set -u
build=${1:-build}
test_name=tenants
. "$(dirname "$0")/server_lib.sh"
unset MOTE_URL MOTE_AUTH
data="$tmp/data"
secret=secret-payroll-fn

cat >"$tmp/hi.wat" <<'W'
(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 16) "hi\n")
  (func (export "_start") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
W
# An OpenWhisk action answers a JSON object.
cat >"$tmp/ow.wat" <<'W'
(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 16) "{}")
  (func (export "_start") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 2))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
W
wat2wasm "$tmp/hi.wat" -o "$tmp/hi.wasm" && wat2wasm "$tmp/ow.wat" -o "$tmp/ow.wasm" ||
  { echo "wat2wasm failed"; exit 1; }

mk_key() { "$mote" keys create "$1" --data "$data" 2>>"$tmp/err"; }
alice=$(mk_key alice)
bob=$(mk_key bob)
start_server 2 --access-log "$tmp/access.log"
check "server starts" $? "$(cat "$tmp/out" "$tmp/err")"
as_alice() { req_as "$alice" "$@"; }
as_bob() { req_as "$bob" "$@"; }
anon() { req_as "" "$@"; }
deploy_as() { # CRED NAME [QUERY]
  req_as "$1" PUT "/v1/functions/$2${3:+?$3}" -H 'Content-Type: application/wasm' --data-binary "@$tmp/hi.wasm"
}
# The last reply with what may differ between two identical answers taken
# out: the Date header, OpenWhisk's transaction id (the "code" of its
# errors) and the Content-Length (the bodies are compared, with the name
# asked for replaced: alike).
shape() {
  echo "$code"
  grep -iv '^date:\|^content-length:' "$tmp/h" | tr -d '\r' | grep -v '^$' | sort
  printf '%s' "$body" | jq -cS 'if type == "object" and (.code | type) == "string" and (.code | test("^[0-9a-zA-Z]{32}$")) then del(.code) else . end' 2>/dev/null ||
    printf '%s' "$body"
}
# LABEL CRED METHOD PATH A B [curl args...]: METHOD PATH with A for each %s
# (as CRED, "" for none), then with B: one answer, once each name asked for
# is replaced by NAME.
alike() {
  local label=$1 cred=$2 m=$3 path=$4 a=$5 b=$6; shift 6
  req_as "$cred" "$m" "${path//%s/$a}" "$@"; shape | sed "s|$a|NAME|g" >"$tmp/s.a"
  req_as "$cred" "$m" "${path//%s/$b}" "$@"; shape | sed "s|$b|NAME|g" >"$tmp/s.b"
  cmp -s "$tmp/s.a" "$tmp/s.b"
  check "$label" $? "$(diff "$tmp/s.a" "$tmp/s.b" | head -20)"
}

# ---- alice's functions, used ---------------------------------------------------------------
deploy_as "$alice" "$secret"; c1=$code
deploy_as "$alice" echo; c2=$code
as_alice PUT /api/v1/namespaces/_/actions/ow-secret -H 'Content-Type: application/json' \
  --data "{\"exec\":{\"kind\":\"wasm:0.1\",\"code\":\"$(base64 -w0 "$tmp/ow.wasm")\",\"binary\":true}}"
c3=$code
as_alice GET "/faas/$secret"; c4=$code; alice_id=$(header X-Mote-Activation-Id)
as_alice POST "/api/v1/namespaces/_/actions/ow-secret?blocking=true" -H 'Content-Type: application/json' --data '{}'
c5=$code; alice_ow_id=$(jget .activationId)
[ "$c1 $c2 $c3 $c4 $c5" = "201 201 200 200 200" ] && [ -n "$alice_id" ] && [ -n "$alice_ow_id" ]
check "alice deploys and calls (mote and OpenWhisk)" $? "$c1 $c2 $c3 $c4 $c5 [$alice_id] [$alice_ow_id] $body"
deploy_as "$bob" bobs; c1=$code
as_bob GET /faas/bobs; c2=$code
[ "$c1 $c2" = "201 200" ]
check "bob has a function of his own" $? "$c1 $c2"

# ---- the operator's figures are not the public's ---------------------------------------------
leaks=
for who in "" "$alice" "$bob" "$dev_auth"; do
  for p in /metrics /metrics/ /api/v1/metrics; do
    req_as "$who" GET "$p"
    [ "$code" = 404 ] || leaks="$leaks [$p ${who:+keyed }$code]"
    grep -q "$secret\|ow-secret" "$tmp/b" && leaks="$leaks [$p names alice's function]"
  done
done
anon GET /healthz
[ -z "$leaks" ] && [ "$body" = '{"status":"ok","start":"ready"}' ]
check "no /metrics on the public address, with any key or none; /healthz counts nothing" $? "$leaks $body"
anon GET /v1/metrics; c1=$code
as_bob GET /v1/metrics; c2=$code
! grep -q 'alice\|^mote_workers\|^mote_queue_depth\|^mote_functions \|^mote_deploys' "$tmp/b" &&
  grep -q '^mote_calls_total{namespace="bob",function="bobs",status="200"} 1$' "$tmp/b"
r2=$?
as_alice GET /v1/metrics
[ "$c1 $c2 $r2 $code" = "401 200 0 200" ] && ! grep -q 'namespace="bob"' "$tmp/b" &&
  grep -q "^mote_calls_total{namespace=\"alice\",function=\"$secret\",status=\"200\"} 1$" "$tmp/b"
check "a tenant's /v1/metrics: its key's namespace only, none of the server's own figures" $? \
  "$c1 $c2 $r2 $code $(grep -c alice "$tmp/b")"
mreq GET /metrics
[ "$code" = 200 ] && grep -q "^mote_calls_total{namespace=\"alice\",function=\"$secret\",status=\"200\"} 1$" "$tmp/b"
check "the operator's address has alice's figures" $? "$code $(grep -c "$secret" "$tmp/b")"

# ---- /faas: private, another's, missing: one answer -----------------------------------------
alike "anonymous /faas/NS/NAME: private and missing alike" "" GET "/faas/alice/%s" "$secret" "no-such-fn"
alike "bob's key on /faas/NS/NAME: alice's private and missing alike" "$bob" GET "/faas/alice/%s" "$secret" "no-such-fn"
alike "anonymous /faas/NAME: alice's name and none alike" "" GET "/faas/%s" "$secret" "no-such-fn"
alike "bob's /faas/NAME: alice's name and none alike" "$bob" GET "/faas/%s" "$secret" "no-such-fn"
alike "with a path and a query: alike" "" GET "/faas/alice/%s/more?x=1" "$secret" "no-such-fn"
alike "a namespace that exists and one that does not: alike" "" GET "/faas/%s" \
  "alice/$secret" nobody-at-all/no-such-fn
head -c $((4 << 20)) /dev/zero >"$tmp/stdin"
u1=$(curl -s --max-time 20 -o /dev/null -w '%{http_code} %{size_upload}' -u "$bob" -H 'Expect: 100-continue' \
  --data-binary "@$tmp/stdin" "$base/faas/alice/$secret")
u2=$(curl -s --max-time 20 -o /dev/null -w '%{http_code} %{size_upload}' -u "$bob" -H 'Expect: 100-continue' \
  --data-binary "@$tmp/stdin" "$base/faas/alice/no-such-fn")
[ "$u1" = "404 0" ] && [ "$u2" = "404 0" ]
check "neither reads the body (same work): 404 before the upload" $? "$u1 / $u2"
leaks=
for n in "$secret" no-such-fn; do
  as_bob GET "/faas/alice/$n"; grep -qi '^x-mote-' "$tmp/h" && leaks="$leaks [$n: X-Mote-*]"
done
[ -z "$leaks" ]
check "no X-Mote-* header on those 404s" $? "$leaks"

# ---- /v1: bob's namespace only ----------------------------------------------------------------
as_bob GET /v1/functions
[ "$code" = 200 ] && [ "$(jget '.functions[].name')" = bobs ]
check "bob lists his functions only" $? "$body"
alike "GET /v1/functions/NAME: alice's and none alike" "$bob" GET "/v1/functions/%s" "$secret" "no-such-fn"
alike "DELETE /v1/functions/NAME: alice's and none alike" "$bob" DELETE "/v1/functions/%s" "$secret" "no-such-fn"
fake=${alice_id:0:12}00000000000000000000
alike "GET /v1/activations/ID: alice's id replayed and a made-up one alike" "$bob" GET \
  "/v1/activations/%s" "$alice_id" "$fake"
as_bob GET "/v1/activations?function=$secret"
c1=$code; l1=$(jget '.activations | length')
as_bob GET /v1/activations
[ "$c1" = 200 ] && [ "$l1" = 0 ] && ! grep -q "$secret\|ow-secret\|$alice_id" "$tmp/b"
check "bob's activation lists: nothing of alice's" $? "$c1 $l1 $body"
as_bob GET "/v1/usage?function=$secret"; c1=$code; b1=$body
as_bob GET /v1/usage
[ "$c1" = 200 ] && ! grep -q "$secret\|ow-secret\|alice" <<<"$b1$body"
check "bob's /v1/usage: nothing of alice's" $? "$b1 $body"
deploy_as "$bob" "$secret"; c1=$code; v1=$(jget '.version, .namespace')
as_alice GET "/v1/functions/$secret"
[ "$c1" = 201 ] && [ "$v1" = "1 bob" ] && [ "$(jget '.version, .namespace')" = "1 alice" ]
check "bob's PUT of alice's name: no 403 or 409, his own version 1; hers untouched" $? "$c1 $v1 $body"
as_bob DELETE "/v1/functions/$secret"

# ---- OpenWhisk's /api/v1 ---------------------------------------------------------------------------
as_bob GET /api/v1/namespaces
[ "$code" = 200 ] && [ "$(printf '%s' "$body" | jq -c .)" = '["bob"]' ]
check "/api/v1/namespaces: bob's own only" $? "$body"
as_bob GET /api/v1/namespaces/_/actions
[ "$code" = 200 ] && ! grep -q "$secret\|ow-secret\|\"echo\"" "$tmp/b"
check "bob's action list: nothing of alice's" $? "$body"
alike "another namespace's actions and a missing namespace's: one 403" "$bob" GET "/api/v1/namespaces/%s/actions" "alice" "nobody"
alike "GET an action: alice's name and none alike" "$bob" GET "/api/v1/namespaces/_/actions/%s" "ow-secret" "no-such-fn"
alike "invoke an action: alice's name and none alike" "$bob" POST \
  "/api/v1/namespaces/_/actions/%s?blocking=true" ow-secret no-such-fn \
  -H 'Content-Type: application/json' --data '{}'
fake=${alice_ow_id:0:12}00000000000000000000
alike "GET an activation: alice's id replayed and a made-up one alike" "$bob" GET \
  "/api/v1/namespaces/_/activations/%s" "$alice_ow_id" "$fake"
alike "an activation's result: alike" "$bob" GET "/api/v1/namespaces/_/activations/%s/result" "$alice_ow_id" "$fake"
alike "an activation's logs: alike" "$bob" GET "/api/v1/namespaces/_/activations/%s/logs" "$alice_ow_id" "$fake"
as_bob GET "/api/v1/namespaces/_/activations?name=ow-secret"
[ "$code" = 200 ] && [ "$(jget 'length')" = 0 ]
check "bob's activations named like alice's action: none" $? "$body"
alike "a web action URL of an action not exported, and of none: alike" "" GET "/api/v1/web/alice/default/%s.json" "ow-secret" "no-such-fn"
alike "... and of a /v1 function" "" GET "/api/v1/web/alice/default/%s.json" "$secret" no-such-fn
anon GET /api/v1/namespaces/_/actions; c1=$code
anon GET /api/v1/namespaces/alice/actions/ow-secret; c2=$code
[ "$c1 $c2" = "401 401" ]
check "anonymous /api/v1 namespaces: 401 before anything is looked up" $? "$c1 $c2"

# ---- what alice sees is hers --------------------------------------------------------------------
as_alice GET "/v1/activations/$alice_id"
[ "$code" = 200 ] && [ "$(jget '.function, .namespace')" = "$secret alice" ]
check "alice reads her own activation" $? "$code $body"
as_alice GET /v1/usage
[ "$code" = 200 ] && [ "$(jget '.namespace')" = alice ] && [ "$(jget '.total.invocations')" = 2 ]
check "alice's /v1/usage: her two calls" $? "$body"

kill -0 "$server_pid" 2>/dev/null
check "server still running" $? "$(cat "$tmp/err")"
stop_server
echo "tests/server/test_tenants.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
