#!/usr/bin/env bash
# Snapshots kept in the store (issue 15): a restart serves every function
# from the snapshot its deploy kept, without running mote_init again; a
# damaged snapshot is found and made again; one made with another
# toolchain is never used.
#
# The function's mote_init draws 8 random bytes, which every call prints:
# the same value from one snapshot, a new one whenever mote_init runs
# again. So the value says whether an initialisation ran, independently of
# what the server reports (its version record: snapshot_from "store" or
# "init"), and the test counts initialisations both ways.
# usage: test_snapshots.sh BUILD_DIR
set -u
build=${1:-build}
test_name=snapshots
. "$(dirname "$0")/server_lib.sh"

cat >"$tmp/seeded.wat" <<'W'
(module
  (import "wasi_snapshot_preview1" "random_get" (func $rand (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $hex (param $x i32) (result i32)
    (select (i32.add (local.get $x) (i32.const 48)) (i32.add (local.get $x) (i32.const 87))
            (i32.lt_u (local.get $x) (i32.const 10))))
  (func (export "mote_init") (drop (call $rand (i32.const 64) (i32.const 8))))
  (func (export "_start") (local $i i32) (local $b i32)
    (loop $l
      (local.set $b (i32.load8_u (i32.add (i32.const 64) (local.get $i))))
      (i32.store8 (i32.add (i32.const 128) (i32.shl (local.get $i) (i32.const 1)))
                  (call $hex (i32.shr_u (local.get $b) (i32.const 4))))
      (i32.store8 (i32.add (i32.const 129) (i32.shl (local.get $i) (i32.const 1)))
                  (call $hex (i32.and (local.get $b) (i32.const 15))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 8))))
    (i32.store8 (i32.const 144) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 128)) (i32.store (i32.const 4) (i32.const 17))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
W
wat2wasm "$tmp/seeded.wat" -o "$tmp/seeded.wasm" || { echo "wat2wasm failed"; exit 1; }
fns=(a b c)

value() { req GET "/faas/$1"; printf '%s' "$body"; }
from() { req GET "/v1/functions/$1"; jget .snapshot_from; }
# Functions whose serving snapshot came from running mote_init.
inits() {
  local n=0
  for f in "${fns[@]}"; do [ "$(from "$f")" = init ] && n=$((n + 1)); done
  echo "$n"
}

start_server 2
check "server starts" $? "$(cat "$tmp/err")"
# The same module three times: a, b with another environment, c.
deploy a "$tmp/seeded.wasm"
deploy b "$tmp/seeded.wasm" "env=MODE=b"
deploy c "$tmp/seeded.wasm"
for f in "${fns[@]}"; do wait_opt "$f"; done
declare -A v
for f in "${fns[@]}"; do v[$f]=$(value "$f"); done
[[ "${v[a]}" =~ ^[0-9a-f]{16}$ ]] && [ "$(value a)" = "${v[a]}" ] && [ "${v[a]}" != "${v[b]}" ] &&
  [ "${v[a]}" != "${v[c]}" ]
check "each function has its own initialised state, the same in every call" $? "${v[*]}"
n=$(inits)
req GET /faas/a
[ "$n" = 3 ] && [ "$(header X-Mote-Tier)" = opt ]
check "deployed: snapshots from mote_init, served on the opt tier" $? "$n $(header X-Mote-Tier)"

# A restart (kill -9: what a crash leaves): no mote_init runs.
stop_server
start_server 2
check "restarts" $? "$(cat "$tmp/err")"
same=0
for f in "${fns[@]}"; do [ "$(value "$f")" = "${v[$f]}" ] && same=$((same + 1)); done
[ "$same" = 3 ] && [ "$(inits)" = 0 ]
check "after a restart every function serves its kept snapshot: mote_init ran 0 times" $? \
  "same values: $same of 3, records from init: $(inits)"

# Damaged on disk: every snapshot blob (not the module's) gets a byte flipped.
req GET /v1/functions/a
module_hash=$(jget .module_hash)
stop_server
damaged=0
for blob in "$tmp"/data/blobs/*; do
  [ "$(basename "$blob")" = "$module_hash" ] && continue
  printf '\xff' | dd of="$blob" bs=1 seek=20 conv=notrunc status=none && damaged=$((damaged + 1))
done
[ "$damaged" -ge 3 ]
check "the snapshots are blobs of the store" $? "$damaged blobs"
start_server 2
declare -A v2
changed=0
for f in "${fns[@]}"; do
  v2[$f]=$(value "$f")
  [[ "${v2[$f]}" =~ ^[0-9a-f]{16}$ ]] && [ "${v2[$f]}" != "${v[$f]}" ] && changed=$((changed + 1))
done
[ "$changed" = 3 ] && [ "$(inits)" = 3 ]
check "damaged snapshots are never used: mote_init runs again" $? "changed $changed, inits $(inits)"
grep -q "the kept snapshot cannot be read (.*damaged" "$tmp/err"
check "stderr says why" $? "$(tail -3 "$tmp/err")"
stop_server
start_server 2
same=0
for f in "${fns[@]}"; do [ "$(value "$f")" = "${v2[$f]}" ] && same=$((same + 1)); done
[ "$same" = 3 ] && [ "$(inits)" = 0 ]
check "and are kept again: the next restart runs no mote_init" $? "same $same, inits $(inits)"
stop_server

# Another toolchain (wrappers of tcc and gcc: other identities, so other
# compile keys): the kept snapshots are never used, not even tried; the
# initialisation runs again. The gcc wrapper waits for $tmp/cc-go (up to 10
# minutes) before it compiles, so the opt tier is still building while the
# test reads the record, however slow the machine: "quick" is a state, not a
# race with the background build.
printf '#!/bin/sh\nexec tcc "$@"\n' >"$tmp/tcc"
printf '#!/bin/sh\ni=0\nwhile [ ! -e "%s" ] && [ $i -lt 12000 ]; do sleep 0.05; i=$((i + 1)); done\nexec gcc "$@"\n' \
  "$tmp/cc-go" >"$tmp/gcc"
chmod +x "$tmp/tcc" "$tmp/gcc"
: >"$tmp/err"
MOTE_QUICK_CC="$tmp/tcc" MOTE_CC="$tmp/gcc" start_server 2
req GET /v1/functions/a
new=$(value a)
[ "$(jget '.tier, .opt_tier')" = "quick building" ] && [ "$(from a)" = init ] && [[ "$new" =~ ^[0-9a-f]{16}$ ]] &&
  [ "$new" != "${v2[a]}" ] && ! grep -q "kept snapshot" "$tmp/err"
check "another toolchain: mote_init runs again, the old snapshot is not even read" $? \
  "$body / $new / $(cat "$tmp/err")"
touch "$tmp/cc-go"
wait_opt a
stop_server

# The options of mote serve, through the server's config into the core's:
# --images copy makes every snapshot a copied one (the record says how calls
# get the image), --no-kept-snapshots neither loads nor keeps them (every
# start runs every mote_init, and says nothing about kept snapshots).
: >"$tmp/err"
start_server 2 --images copy --no-kept-snapshots
check "starts with --images copy --no-kept-snapshots" $? "$(cat "$tmp/err")"
req GET /v1/functions/a
images=$(jget '.snapshot_image, .snapshot_from')
new=$(value a)
[ "$images" = "copy init" ] && [ "$(inits)" = 3 ] && [[ "$new" =~ ^[0-9a-f]{16}$ ]] &&
  [ "$new" != "${v2[a]}" ] && ! grep -q "kept snapshot" "$tmp/err"
check "--images copy and --no-kept-snapshots: copied images, mote_init at start" $? \
  "$images, inits $(inits), $new / $(cat "$tmp/err")"
stop_server
"$mote" serve --images mapped --data "$tmp/data" >/dev/null 2>"$tmp/usage"
rc=$?
[ "$rc" -ne 0 ] && grep -q -- "--images takes auto, copy, map or map-drop" "$tmp/usage"
check "an unknown --images mode is refused" $? "exit $rc: $(cat "$tmp/usage")"

# A function deleted while its opt tier is built: the build's snapshot is not
# kept (the delete forgot the name's snapshots, and a keep after it would
# bring one back for whoever deploys the name next). The gcc wrapper says
# when it has started and waits for $tmp/opt-go; a deploy of the same module
# afterwards finds the opt object cached and must run mote_init. A fresh data
# directory: x's is the only build.
rm -rf "$tmp/data"
printf '#!/bin/sh\n: >"%s"\ni=0\nwhile [ ! -e "%s" ] && [ $i -lt 12000 ]; do sleep 0.05; i=$((i + 1)); done\nexec gcc "$@"\n' \
  "$tmp/opt-started" "$tmp/opt-go" >"$tmp/gcc2"
chmod +x "$tmp/gcc2"
MOTE_CC="$tmp/gcc2" start_server 2
deploy x "$tmp/seeded.wasm"
[ "$code" = 201 ] && [ "$(jget .opt_tier)" = building ]
check "deployed, its opt tier building" $? "$code $body"
until=$((SECONDS + 600))
while [ ! -e "$tmp/opt-started" ] && [ $SECONDS -lt $until ]; do sleep 0.05; done
req DELETE /v1/functions/x
[ -e "$tmp/opt-started" ] && [ "$code" = 200 ]
check "deleted while the opt build runs" $? "$code $body"
touch "$tmp/opt-go"
wait_metric 'mote_opt_builds_total{result="ok"}' 1
check "the build ends" $? "$(grep opt_builds "$tmp/m")"
deploy x "$tmp/seeded.wasm"
[ "$code" = 201 ] && [ "$(jget .tier)" = opt ] && [ "$(jget .snapshot_from)" = init ]
check "a deploy after the delete runs mote_init: no snapshot of the deleted one was kept" $? \
  "$code $body"
stop_server

echo "$test_name: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
