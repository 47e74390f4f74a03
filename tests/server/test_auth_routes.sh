#!/usr/bin/env bash
# Keys and namespaces on a real `mote serve`: 401 without a valid key (and
# before a body is read), names per namespace (another namespace's name is
# another function), lists and activations of one namespace only, public
# and private /faas calls (a private one is a 404 to whoever may not call it),
# keys deleted beside the server, and the client verbs' exit statuses.
# usage: test_auth_routes.sh BUILD_DIR
set -u
build=${1:-build}
test_name=auth-routes
. "$(dirname "$0")/server_lib.sh"
unset MOTE_URL MOTE_AUTH
data="$tmp/data"

cat >"$tmp/hi.wat" <<'W'
(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1) (data (i32.const 16) "hi\n")
  (func (export "_start") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
W
wat2wasm "$tmp/hi.wat" -o "$tmp/hi.wasm" || { echo "wat2wasm failed"; exit 1; }

# Keys of two namespaces, made before the server starts and beside it.
mk_key() { "$mote" keys create "$1" --data "$data" 2>>"$tmp/err"; }
alice=$(mk_key alice)
start_server 2 --access-log "$tmp/access.log"
check "server starts" $? "$(cat "$tmp/out" "$tmp/err")"
bob=$(mk_key bob) # beside the running server: usable at once
[[ "$alice" == *:* && "$bob" == *:* ]]
check "keys made" $? "alice=$alice bob=$bob"
alice_uuid=${alice%%:*}
wrong="$alice_uuid:$(printf 'x%.0s' $(seq 64))"

as_alice() { req_as "$alice" "$@"; }
as_bob() { req_as "$bob" "$@"; }
anon() { req_as "" "$@"; }
deploy_as() { # CRED NAME [QUERY]
  req_as "$1" PUT "/v1/functions/$2${3:+?$3}" -H 'Content-Type: application/wasm' --data-binary "@$tmp/hi.wasm"
}
names() { jget '.functions[].name'; }

# ---- 401 ------------------------------------------------------------------------------
anon GET /v1/functions
[ "$code" = 401 ] && [ "$(header WWW-Authenticate)" = 'Basic realm="OpenWhisk secure realm"' ] &&
  [ "$(jget .error)" = "The resource requires authentication, which was not supplied with the request" ] &&
  [ -n "$(jget .code)" ]
check "no key: 401, WWW-Authenticate, OpenWhisk's message" $? "$code $(cat "$tmp/h") $body"
req_as "$wrong" GET /v1/functions
[ "$code" = 401 ] && [ "$(header WWW-Authenticate)" = 'Basic realm="OpenWhisk secure realm"' ] &&
  [ "$(jget .error)" = "The supplied authentication is invalid" ]
check "a wrong secret: 401" $? "$code $body"
req_as "00000000-0000-4000-8000-000000000000:$(printf 'k%.0s' $(seq 64))" GET /v1/functions
[ "$code" = 401 ]
check "an unknown uuid: 401" $? "$code $body"
anon GET /v1/functions -H 'Authorization: Bearer abc'
c1=$code; anon GET /v1/functions -H 'Authorization: Basic !!!notbase64'
[ "$c1" = 401 ] && [ "$code" = 401 ] && [ "$(jget .error)" = "The supplied authentication is invalid" ]
check "another scheme, bad base64: 401" $? "$c1 $code $body"
bad=
for route in "GET /v1/functions/x" "DELETE /v1/functions/x" "GET /v1/activations" \
  "GET /v1/activations/0123456789abcdef0123456789abcdef"; do
  anon $route; [ "$code" = 401 ] || bad="$bad [$route: $code]"
done
deploy_as "" x; [ "$code" = 401 ] || bad="$bad [PUT: $code]"
c1=$(curl -s --max-time 20 -I -o /dev/null -w '%{http_code}' "$base/v1/functions")
[ "$c1" = 401 ] || bad="$bad [HEAD: $c1]"
[ -z "$bad" ]
check "every /v1 route wants a key" $? "$bad"
anon GET /healthz; c1=$code; b1=$body; anon GET /metrics
[ "$c1" = 200 ] && [ "$b1" = '{"status":"ok","start":"ready"}' ] && [ "$code" = 404 ]
check "/healthz is open and says only ok and ready; /metrics is not on the public address" $? "$c1 $b1 $code"

# A large deploy without a key is refused before its body is sent: curl asks
# with Expect: 100-continue and gets the 401 instead of the go-ahead.
head -c $((64 << 20)) /dev/zero >"$tmp/big.wasm"
up=$(curl -s --max-time 20 -o "$tmp/b" -w '%{http_code} %{size_upload}' -X PUT \
  -H 'Content-Type: application/wasm' --data-binary "@$tmp/big.wasm" "$base/v1/functions/big")
[ "$up" = "401 0" ]
check "an unauthenticated 64 MiB PUT: 401, no byte of the body sent" $? "$up $(cat "$tmp/b")"
up=$(curl -s --max-time 20 -o "$tmp/b" -w '%{http_code} %{size_upload}' -u "$wrong" -X PUT \
  -H 'Content-Type: application/wasm' --data-binary "@$tmp/big.wasm" "$base/v1/functions/big")
[ "$up" = "401 0" ]
check "the same with a wrong key" $? "$up"
rm -f "$tmp/big.wasm"

# ---- names per namespace ------------------------------------------------------------------
deploy_as "$alice" af; c1=$code; ns1=$(jget .namespace)
deploy_as "$alice" pub "public=true"; c2=$code
deploy_as "$bob" bf; c3=$code
[ "$c1$c2$c3" = 201201201 ] && [ "$ns1" = alice ]
check "deploys in two namespaces; the version shows its namespace" $? "$c1 $c2 $c3 ns=$ns1"
as_bob GET /v1/functions/af; c1=$code; b1=$body
as_bob GET /v1/functions/nothing
[ "$c1" = 404 ] && [ "$code" = 404 ] && [ "$b1" = "${body//nothing/af}" ]
check "GET of a name only another namespace has: 404, as a name nobody has" $? "$c1 $b1 / $code $body"
deploy_as "$bob" af
c1=$code; v1=$(jget '.version, .namespace')
as_alice GET /v1/functions/af
[ "$c1" = 201 ] && [ "$v1" = "1 bob" ] && [ "$code" = 200 ] && [ "$(jget '.version, .namespace')" = "1 alice" ]
check "PUT of a name another namespace has: a function of its own, the other's untouched" $? "$c1 $v1 / $code $body"
as_bob DELETE /v1/functions/af; c1=$code
as_bob DELETE /v1/functions/af; c2=$code
as_alice GET /v1/functions/af
[ "$c1" = 200 ] && [ "$c2" = 404 ] && [ "$code" = 200 ]
check "DELETE of one's own af leaves another namespace's af" $? "$c1 $c2 / $code"
deploy_as "$bob" bnew
[ "$code" = 201 ] && [ "$(jget .namespace)" = bob ]
check "PUT of a new name makes it the caller's" $? "$code $body"

# ---- lists: one namespace each ------------------------------------------------------------
as_alice GET /v1/functions; la=$(names)
as_bob GET /v1/functions; lb=$(names)
req GET /v1/functions; lg=$(names) # guest, the --dev key
[ "$la" = "af pub" ] && [ "$lb" = "bf bnew" ] && [ -z "$lg" ]
check "/v1/functions lists the caller's namespace only" $? "alice=[$la] bob=[$lb] guest=[$lg]"

# ---- /faas: public and private ------------------------------------------------------------
anon GET /faas/alice/pub; c1=$code; b1=$body
as_bob GET /faas/alice/pub; c2=$code
as_alice GET /faas/pub; c3=$code
anon GET /faas/pub; c4=$code
[ "$c1" = 200 ] && [ "$b1" = hi ] && [ "$c2" = 200 ] && [ "$c3" = 200 ] && [ "$c4" = 404 ]
check "a public function: /faas/NS/NAME to anyone, /faas/NAME to its namespace's key (guest's without one)" $? "$c1 [$b1] $c2 $c3 $c4"
pub_id=$(anon GET /faas/alice/pub; header X-Mote-Activation-Id)
# What may not be called is one answer: the status, the body, the headers.
not_called() { # NAME: the reply, headers without Date, into $tmp/nc.NAME
  { echo "$code"; grep -iv '^date:' "$tmp/h"; echo "$body"; } >"$tmp/nc.$1"
}
anon GET /faas/alice/af; not_called private
as_bob GET /faas/alice/af; not_called other_key
anon GET /faas/alice/nothing; not_called missing
as_bob GET /faas/nothing; not_called missing_keyed
anon GET /faas/nobody/af; not_called no_namespace
[ "$(head -1 "$tmp/nc.private")" = 404 ] && [ -z "$(header X-Mote-Activation-Id)" ] &&
  cmp -s "$tmp/nc.private" "$tmp/nc.other_key" && cmp -s "$tmp/nc.private" "$tmp/nc.missing" &&
  cmp -s "$tmp/nc.private" "$tmp/nc.missing_keyed" && cmp -s "$tmp/nc.private" "$tmp/nc.no_namespace"
check "private without a key, with another namespace's, missing: the same 404" $? "$(cat "$tmp"/nc.*)"
req_as "$wrong" GET /faas/alice/af
[ "$code" = 401 ]
check "a wrong key: 401 (the key is checked before any function is looked up)" $? "$code $body"
head -c $((4 << 20)) /dev/zero >"$tmp/stdin"
up=$(curl -s --max-time 20 -o "$tmp/b" -w '%{http_code} %{size_upload}' -H 'Expect: 100-continue' \
  --data-binary "@$tmp/stdin" "$base/faas/alice/af")
[ "$up" = "404 0" ]
check "a call's body is not taken when it may not be called" $? "$up"
as_alice GET /faas/af
af_id=$(header X-Mote-Activation-Id)
as_alice GET /faas/alice/af; c1=$code
[ "$code" = 200 ] && [ "$body" = hi ] && [ -n "$af_id" ] && [ "$c1" = 200 ]
check "the owner's key: 200, as /faas/NAME and /faas/NS/NAME" $? "$code [$body] $c1"
as_bob GET /faas/bf
bf_id=$(header X-Mote-Activation-Id)
[ "$code" = 200 ] && [ -n "$bf_id" ]
check "bob calls his own" $? "$code $body"

# ---- activations: one namespace each, another's is 404 ---------------------------------
as_alice GET "/v1/activations/$af_id"
[ "$code" = 200 ] && [ "$(jget '.function, .namespace')" = "af alice" ]
check "the owner reads an activation; it names its namespace" $? "$code $body"
as_bob GET "/v1/activations/$af_id"
c1=$code; b1=$body
as_bob GET "/v1/activations/0123456789abcdef0123456789abcdef"
[ "$c1" = 404 ] && [ "$code" = 404 ] && [ "$(printf '%s' "$b1" | jq -r .code)" = not_found ]
check "another namespace's activation: 404, as one that does not exist" $? "$c1 $b1 / $code"
as_alice GET /v1/activations; la=$(jget '.activations[].id'); lan=$(jget '.activations[].namespace' | tr ' ' '\n' | sort -u)
as_bob GET /v1/activations; lb=$(jget '.activations[].id')
[[ " $la " == *" $af_id "* && " $la " == *" $pub_id "* && " $la " != *" $bf_id "* ]] &&
  [ "$lan" = alice ] && [ "$lb" = "$bf_id" ]
check "/v1/activations lists the namespace's (a public call is its owner's)" $? "alice=[$la] ns=[$lan] bob=[$lb]"
as_bob GET "/v1/activations?function=af"
[ "$code" = 200 ] && [ -z "$(jget '.activations[].id')" ]
check "?function= of another namespace's function: none" $? "$code $body"

# ---- a version made private; names deleted and deployed again -----------------------------
deploy_as "$alice" pub
anon GET /faas/alice/pub; not_called made_private
cmp -s "$tmp/nc.made_private" "$tmp/nc.private"
check "redeployed without public: the same 404 without a key" $? "$(cat "$tmp/nc.made_private")"
as_alice DELETE /v1/functions/af; c1=$code
deploy_as "$bob" af; c2=$code; ns2=$(jget .namespace); v2=$(jget .version)
as_alice GET /v1/functions/af; c3=$code
as_bob GET "/v1/activations/$af_id"; c4=$code
[ "$c1" = 200 ] && [ "$c2" = 201 ] && [ "$ns2" = bob ] && [ "$v2" = 2 ] && [ "$c3" = 404 ] && [ "$c4" = 404 ]
check "bob's af numbers on from his own; alice's old activation stays hers" $? "$c1 $c2 $ns2 v$v2 $c3 $c4"

grep -q '"path":"/v1/functions/bnew".*"namespace":"bob"' "$tmp/access.log" &&
  grep '"path":"/faas/alice/pub"' "$tmp/access.log" | grep '"status":200' | grep -vq '"namespace":' &&
  grep '"path":"/faas/alice/pub"' "$tmp/access.log" | grep -q '"namespace":"bob".*"function":"pub","function_namespace":"alice"'
check "the access log names the caller's namespace (none without a key) and the function's" $? "$(grep /faas/alice/pub "$tmp/access.log")"

# ---- the client verbs ---------------------------------------------------------------------
run() { "$mote" "$@" >"$tmp/o" 2>"$tmp/e"; rc=$?; out=$(cat "$tmp/o"); err=$(cat "$tmp/e"); }
s=(--server "$base")
run ls "${s[@]}"
[ $rc -eq 77 ] && [[ "$err" == *"no key was sent"* && "$err" == *"mote keys create"* && "$err" == *"mote serve --dev"* ]] &&
  [[ "$err" == *"MOTE_AUTH=$dev_auth"* ]]
check "ls without a key: how to get one, exit 77" $? "rc=$rc err=$err"
MOTE_AUTH=$wrong run activations "${s[@]}"
[ $rc -eq 77 ] && [[ "$err" == *"secret is wrong"* ]]
check "a wrong \$MOTE_AUTH: exit 77" $? "rc=$rc err=$err"
run ls --auth "$alice" "${s[@]}"
[ $rc -eq 0 ] && [[ "$out" == *pub* && "$out" != *bf* ]]
check "ls --auth: the namespace's functions" $? "rc=$rc out=$out err=$err"
MOTE_AUTH=$bob run invoke bf "${s[@]}"
[ $rc -eq 0 ] && [ "$out" = hi ]
check "invoke with \$MOTE_AUTH" $? "rc=$rc out=$out err=$err"
run invoke alice/pub --auth "$bob" "${s[@]}"
[ $rc -eq 71 ] && [[ "$err" == *"no function here that this request may call"* ]]
check "invoke of another namespace's private function: exit 71, as a missing one" $? "rc=$rc err=$err"
run invoke pub --auth "$bob" "${s[@]}"
[ $rc -eq 71 ]
check "invoke NAME is the key's namespace's: exit 71 when it has none" $? "rc=$rc err=$err"
run deploy af "$tmp/hi.wasm" --auth "$alice" "${s[@]}"
[ $rc -eq 0 ]
check "deploy of a name another namespace has: its own" $? "rc=$rc err=$err"
run invoke bob/bf "${s[@]}"
[ $rc -eq 71 ]
check "invoke of a private function without a key: exit 71" $? "rc=$rc err=$err"
MOTE_AUTH=$bob run invoke bob/bf "${s[@]}"
[ $rc -eq 0 ] && [ "$out" = hi ]
check "invoke NS/NAME" $? "rc=$rc out=$out err=$err"
run ls --auth nocolon "${s[@]}"
[ $rc -eq 64 ] && [[ "$err" == *"UUID:KEY"* ]]
check "--auth that is not UUID:KEY: 64" $? "rc=$rc err=$err"
run rm --auth "$alice" pub "${s[@]}"
[ $rc -eq 0 ]
check "rm --auth" $? "rc=$rc err=$err"

# ---- keys deleted with `mote keys delete` ---------------------------------------------------
# A key never used is refused as soon as it is deleted (refusals and misses
# are not cached); one the server has verified stays in its cache for up to
# its 5 s expiry (auth.c): polled until refused (up to 2 minutes, a bound
# only against a hang), then a restart.
carol=$(mk_key carol)
"$mote" keys delete "${carol%%:*}" --data "$data" >/dev/null 2>>"$tmp/err"
req_as "$carol" GET /v1/functions
[ "$code" = 401 ]
check "a key deleted before its first use: 401 at once" $? "$code $body"
as_bob GET /v1/functions; c1=$code
"$mote" keys delete "${bob%%:*}" --data "$data" >/dev/null 2>>"$tmp/err"; rc=$?
until=$((SECONDS + 120))
while as_bob GET /v1/functions; [ "$code" != 401 ] && [ $SECONDS -lt $until ]; do sleep 0.25; done
[ "$c1" = 200 ] && [ $rc -eq 0 ] && [ "$code" = 401 ]
check "a used key deleted beside the running server stops working (cache expiry)" $? "$c1 rc=$rc $code"
stop_server
start_server 2
check "server restarts" $? "$(cat "$tmp/err")"
as_bob GET /v1/functions; c2=$code
as_alice GET /v1/functions; c3=$code
[ "$c1" = 200 ] && [ $rc -eq 0 ] && [ "$c2" = 401 ] && [ "$c3" = 200 ]
check "a deleted key no longer opens the server; the others do" $? "$c1 rc=$rc $c2 $c3"
as_alice GET "/v1/activations/$af_id"
[ "$code" = 200 ] && [ "$(jget .namespace)" = alice ]
check "namespaces survive the restart" $? "$code $body"

stop_server
if [ $failed -ne 0 ]; then echo "  the server's stderr (last lines):" >&2; tail -n 20 "$tmp/err" >&2; fi
echo "tests/server/test_auth_routes.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]
