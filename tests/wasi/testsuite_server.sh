#!/usr/bin/env bash
# The official WASI test suite (see tests/wasi/testsuite.sh) through `mote
# serve`: each test is deployed as a function and called at /faas/NAME, so
# the server's invoker is held to the same WASI as `mote run`.
#
#   tests/wasi/testsuite_server.sh BUILD_DIR [SUITE/NAME...]   (make wasi-testsuite-server)
#
# A server with --dev on a free loopback port and a temporary data directory
# (tests/server/server_lib.sh); its compile cache is the CLI runner's
# (MOTE_CACHE, default BUILD_DIR/wasi/cache), where every module is compiled
# on the WASI_TIER (default opt) first, so calls run the same code as there.
# A test is deployed as its .wasm alone, or, when it has a root, as a bundle:
# main.wasm plus a copy of the root, which becomes the function's files at
# "/". Its env becomes the deploy's env settings, its args the call's ?arg=
# values; the body is empty (stdin), the exit code is the reply's (200: 0;
# 502: the JSON's exit_code, else its code, such as "trap"), stdout the
# body of a 200. Where the specification names stdout of a failed run, or
# stderr, they are read from the call's activation record (whose excerpts
# keep 4096 bytes: longer output cannot be compared and fails).
#
# A function's files are read-only, so the tests in
# tests/wasi/testsuite_server.skip (they write in their root) are skipped,
# each with its reason; each must still fail under `mote run` with its root
# read-only, or the list is wrong (a failure).
# Prints one line per failure and per skip; the last line is
# "wasi-testsuite-server: N passed, N failed, N skipped".
set -u
BUILD=${1:?usage: testsuite_server.sh BUILD_DIR [SUITE/NAME...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
. "$here/testsuite_lib.sh"
build=$BUILD test_name=wasi-testsuite-server
. "$here/../server/server_lib.sh" # $mote, $tmp (removed on exit), start_server, ...
TIER=${WASI_TIER:-opt}
export MOTE_CACHE=${MOTE_CACHE:-$BUILD/wasi/cache}
mkdir -p "$MOTE_CACHE" && MOTE_CACHE=$(cd "$MOTE_CACHE" && pwd)
suite=${WASI_TESTSUITE:-$here/../../../shared/wasi-testsuite}
skipped=0
summary() {
  echo "wasi-testsuite-server: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}
if ! ts_open "$suite"; then
  echo "FAIL: no WASI test suite in $suite (set WASI_TESTSUITE to its folder)"
  failed=1; summary; exit
fi
declare -A skip=()
while read -r t why; do
  case $t in ''|'#'*) continue ;; esac
  skip[$t]=$why
done < "$here/testsuite_server.skip"
readarray -t tests < <(ts_list "$@")

ts_compile "$mote" "$TIER" "${tests[@]}"
mkdir -p "$tmp/data" && ln -s "$MOTE_CACHE" "$tmp/data/cache"
if ! start_server 2; then
  echo "FAIL: mote serve did not start: $(ts_line "$(tail -c 600 "$tmp/err")")"
  failed=1; summary; exit
fi

# Runs test $t under `mote run` with its root read-only: 0 when it passes.
passes_read_only() {
  ts_copy "$t" "$1" || return 1
  ts_run "$mote" "$TIER" ro "$t" "$1"
  ts_compare "$1" $? "$1/stdout" "$1/stderr"
}

declare -A tiers=()
for t in "${tests[@]}"; do
  cdir=$tmp/cases/$t
  mkdir -p "$cdir"
  if ! ts_load "$t" "$cdir"; then
    failed=$((failed + 1)); echo "FAIL $t: $ts_why"; continue
  fi
  if [ -n "${skip[$t]+set}" ]; then
    if [ -z "$ts_root" ]; then
      failed=$((failed + 1)); echo "FAIL $t: in testsuite_server.skip, but it has no root to write in"
    elif passes_read_only "$cdir"; then
      failed=$((failed + 1))
      echo "FAIL $t: in testsuite_server.skip, but it passes under mote run with its root read-only"
    else
      skipped=$((skipped + 1)); echo "skip $t: needs writes: ${skip[$t]}"
    fi
    continue
  fi
  name=wts.${t//\//.}
  query="timeout=120000$(jq -r '[.env | to_entries[] | "&env=" + ("\(.key)=\(.value)" | @uri)] | join("")' "$cdir/spec.json")"
  if [ -n "$ts_root" ]; then
    if ! ts_copy "$t" "$cdir" || [ ! -d "$cdir/folder/$ts_root" ]; then
      failed=$((failed + 1)); echo "FAIL $t: cannot copy its root $ts_root"; continue
    fi
    mkdir -p "$cdir/bundle" && cp -a "$cdir/folder/$ts_root/." "$cdir/bundle/" &&
      cp "$ts_dir/$t.wasm" "$cdir/bundle/main.wasm" &&
      tar -C "$cdir/bundle" -czf "$cdir/bundle.tgz" . || { failed=$((failed + 1)); echo "FAIL $t: cannot make its bundle"; continue; }
    deploy_as=(-H 'Content-Type: application/gzip' --data-binary "@$cdir/bundle.tgz")
  else
    deploy_as=(-H 'Content-Type: application/wasm' --data-binary "@$ts_dir/$t.wasm")
  fi
  code=$(curl -s --max-time 120 -u "$dev_auth" -X PUT "${deploy_as[@]}" -o "$cdir/deploy" \
    -w '%{http_code}' "$base/v1/functions/$name?$query")
  if [ "$code" != 201 ]; then
    failed=$((failed + 1)); echo "FAIL $t: deploy answered $code: $(ts_line "$(cat "$cdir/deploy" 2>/dev/null)")"; continue
  fi
  args=$(jq -r '[.args[] | "arg=" + @uri] | join("&")' "$cdir/spec.json")
  code=$(curl -s --max-time 150 -u "$dev_auth" -D "$cdir/h" -o "$cdir/body" -w '%{http_code}' \
    "$base/faas/$name${args:+?$args}" < /dev/null)
  id=$(sed -nE 's/^X-Mote-Activation-Id: ([0-9a-f]+)\r?$/\1/Ip' "$cdir/h")
  tier=$(sed -nE 's/^X-Mote-Tier: ([a-z]+)\r?$/\1/Ip' "$cdir/h")
  tiers[${tier:-none}]=$(( ${tiers[${tier:-none}]:-0} + 1 ))
  : > "$cdir/stdout"; : > "$cdir/stderr"
  if [ "$code" = 200 ]; then
    rc=0; cp "$cdir/body" "$cdir/stdout"
  elif ! rc=$(jq -r 'if .code == "exit" then .exit_code else "\(.code) (HTTP '"$code"')" end' "$cdir/body" 2>/dev/null); then
    rc="HTTP $code"
  else
    jq -j '.stderr // ""' "$cdir/body" > "$cdir/stderr"
  fi
  if [ -n "$id" ] && { [ -f "$cdir/expect.stderr" ] || { [ "$code" != 200 ] && [ -f "$cdir/expect.stdout" ]; }; }; then
    if curl -s --max-time 30 -u "$dev_auth" -o "$cdir/record" "$base/v1/activations/$id" &&
       jq -e '(.stdout // "" | utf8bytelength) < 4096 and (.stderr // "" | utf8bytelength) < 4096' "$cdir/record" > /dev/null; then
      jq -j '.stdout // ""' "$cdir/record" > "$cdir/stdout"
      jq -j '.stderr // ""' "$cdir/record" > "$cdir/stderr"
    else
      failed=$((failed + 1)); echo "FAIL $t: its output cannot be compared: the activation record has no whole stdout/stderr"; continue
    fi
  fi
  if ts_compare "$cdir" "$rc" "$cdir/stdout" "$cdir/stderr"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $t: $ts_diff"
  fi
done

echo "calls by tier: $(for k in "${!tiers[@]}"; do printf '%s %s, ' "$k" "${tiers[$k]}"; done | sed 's/, $//')"
summary
