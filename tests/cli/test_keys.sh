#!/usr/bin/env bash
# `mote keys create|list|delete`, `mote namespaces` on a data directory, and
# `mote serve --dev` making the development key once.
# usage: test_keys.sh BUILD_DIR
set -u
build=${1:-build}
test_name=keys
. "$(dirname "$0")/../server/server_lib.sh"
data="$tmp/data"
dev_uuid=23bc46b1-71f6-4ed5-8c54-816aa4f8c502
dev_key=123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP

run() { # mote ARGS...: stdout in $out, stderr in $err, status in $rc
  out=$("$mote" "$@" 2>"$tmp/stderr"); rc=$?
  err=$(cat "$tmp/stderr")
}
cred_re='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}:[A-Za-z0-9]{64}$'

# ---- create, list, namespaces ------------------------------------------------------------
run keys create alice --data "$data"
[ $rc -eq 0 ] && [[ "$out" =~ $cred_re ]]
check "create prints uuid:key once" $? "rc=$rc out=$out err=$err"
cred1=$out; uuid1=${cred1%%:*}; key1=${cred1#*:}
run keys create alice --data "$data"; cred2=$out; uuid2=${cred2%%:*}
run keys create bob --data "$data"; cred3=$out; uuid3=${cred3%%:*}
[ $rc -eq 0 ] && [ "$uuid1" != "$uuid2" ] && [ "$uuid2" != "$uuid3" ]
check "more keys, each its own uuid" $? "rc=$rc $cred1 $cred2 $cred3"

run keys list --data "$data"
[ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | head -1)" = "$(printf 'UUID\tNAMESPACE\tCREATED (UTC)')" ] &&
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 4 ] &&
  printf '%s\n' "$out" | grep -qE "^$uuid1	alice	20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8}$" &&
  printf '%s\n' "$out" | grep -qE "^$uuid3	bob	" && [[ "$out" != *"$key1"* ]]
check "list: uuid, namespace, time, never the key" $? "rc=$rc out=$out"
run keys list alice --data "$data"
[ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ] && [[ "$out" != *bob* ]]
check "list NS: that namespace's keys" $? "rc=$rc out=$out"
run keys list carol --data "$data"
[ $rc -eq 0 ] && [ "$out" = "$(printf 'UUID\tNAMESPACE\tCREATED (UTC)')" ]
check "list of a namespace without keys: the header only" $? "rc=$rc out=$out"

run namespaces --data "$data"
[ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | cut -f1,2 | tr '\t\n' ' ')" = "NAME KEYS alice 2 bob 1 " ]
check "namespaces: each once, with its key count" $? "rc=$rc out=$out"

! grep -rqF "$key1" "$data"
check "the secret is nowhere in the data directory" $? "found $key1"

# ---- delete -------------------------------------------------------------------------------
run keys delete "$uuid1" --data "$data"
[ $rc -eq 0 ] && [ "$out" = "deleted key $uuid1" ]
check "delete" $? "rc=$rc out=$out err=$err"
run keys list --data "$data"
[[ "$out" != *"$uuid1"* ]] && [[ "$out" == *"$uuid2"* ]]
check "a deleted key is gone from the list, the others stay" $? "out=$out"
run keys delete "$uuid1" --data "$data"
[ $rc -eq 71 ] && [[ "$err" == *"no key with uuid \"$uuid1\""* ]]
check "delete of an unknown key: 71 and why" $? "rc=$rc err=$err"

# ---- bad usage -----------------------------------------------------------------------------
bad=
for args in "keys" "keys create" "keys delete" "keys frob" "keys create a b" "keys --bogus" \
            "namespaces extra" "keys list --data"; do
  run $args
  [ $rc -eq 64 ] && [ -n "$err" ] || bad="$bad [$args: rc=$rc err=$err]"
done
[ -z "$bad" ]
check "bad command lines: 64 and a message" $? "$bad"
run keys create ../x --data "$data"
[ $rc -eq 64 ] && [[ "$err" == *'invalid namespace "../x"'* ]]
check "a bad namespace name: 64, the rule told" $? "rc=$rc err=$err"
run keys list --data "$tmp/missing"
[ $rc -eq 74 ] && [[ "$err" == *"not a data directory"* ]] && [ ! -e "$tmp/missing" ]
check "list in a missing directory: 74, nothing created" $? "rc=$rc err=$err"
bad=
for v in keys namespaces; do
  "$mote" $v --help | grep -q "usage: mote $v" || bad="$bad $v"
  "$mote" help $v | grep -q "usage: mote $v" || bad="$bad help-$v"
done
"$mote" --help | grep -q "keys create NS" || bad="$bad main"
[ -z "$bad" ]
check "--help of keys and namespaces, and in mote --help" $? "$bad"

# ---- serve --dev ------------------------------------------------------------------------------
dev_flag= start_server 1
grep -q "^mote: every /v1 route needs a key: mote keys create NS --data $data" "$tmp/out" &&
  ! grep -q guest "$tmp/out"
check "serve without --dev: says how to make keys, makes none" $? "$(cat "$tmp/out")"
run keys create carol --data "$data"
[ $rc -eq 0 ] && [[ "$out" =~ $cred_re ]]
check "keys create beside a running server" $? "rc=$rc err=$err"
stop_server
run namespaces --data "$data"
[[ "$out" != *guest* ]]
check "no guest without --dev" $? "out=$out"

start_server 1 --dev
grep -qF "mote: --dev: namespace guest created with the well-known key $dev_uuid:$dev_key" "$tmp/out"
check "serve --dev creates guest and says so" $? "$(cat "$tmp/out")"
stop_server
start_server 1 --dev
grep -qF "mote: --dev: namespace guest has the well-known key $dev_uuid" "$tmp/out" &&
  ! grep -q created "$tmp/out"
check "serve --dev again: found, not created again" $? "$(cat "$tmp/out")"
stop_server
run keys list guest --data "$data"
[ "$(printf '%s\n' "$out" | tail -n +2 | cut -f1)" = "$dev_uuid" ]
check "guest has exactly the one well-known key" $? "out=$out"
run namespaces --data "$data"
[ "$(printf '%s\n' "$out" | grep -c '^guest	1	')" -eq 1 ]
check "guest listed once" $? "out=$out"

# ---- a data directory whose parents do not exist yet ---------------------------------------
run keys create carol --data "$tmp/not/yet/data"
[ $rc -eq 0 ] && [[ "$out" =~ $cred_re ]] && [ -f "$tmp/not/yet/data/mote.db" ]
check "keys create makes a data directory with its parents" $? "rc=$rc out=$out err=$err"
start_server 1 --data "$tmp/also/not/yet"
req GET /healthz
[ "$code" = 200 ] && [ -f "$tmp/also/not/yet/mote.db" ]
check "mote serve makes its data directory with its parents" $? "$code $(cat "$tmp/err")"
stop_server
if [ $failed -ne 0 ]; then echo "  the server's stderr (last lines):" >&2; tail -n 20 "$tmp/err" >&2; fi
echo "tests/cli/test_keys.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]
