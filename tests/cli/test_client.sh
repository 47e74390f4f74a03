#!/usr/bin/env bash
# The client verbs (mote deploy, invoke, ls, rm, logs, activations) against a
# real `mote serve` on a free loopback port: output, exit statuses, messages.
# usage: test_client.sh BUILD_DIR
set -u
build=${1:-build}
test_name=client
. "$(dirname "$0")/../server/server_lib.sh"
unset MOTE_URL
export MOTE_AUTH=$dev_auth # the --dev key of the server below (tests of keys: test_auth_routes.sh)

# ---- the functions -----------------------------------------------------------
# One C program, its behaviour chosen by the MODE setting of each deploy.
cat >"$tmp/tool.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  const char *mode = getenv("MODE") ? getenv("MODE") : "echo";
  if (!strcmp(mode, "cat")) {
    static char buf[65536]; size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
    return 0;
  }
  if (!strcmp(mode, "fail")) { printf("partial\n"); fprintf(stderr, "something went wrong: oops\n"); return 3; }
  if (!strcmp(mode, "env")) { printf("GREETING=%s\n", getenv("GREETING")); return 0; }
  for (int i = 0; i < argc; i++) printf("%s\n", argv[i]);
  fprintf(stderr, "%d args\n", argc);
  return 0;
}
C
clang-19 --target=wasm32-wasi -O2 -Wl,--stack-first -Wl,-z,stack-size=262144 "$tmp/tool.c" -o "$tmp/tool.wasm" || { echo "clang-19 failed"; exit 1; }
cat >"$tmp/trap.wat" <<'W'
(module (memory (export "memory") 1) (func (export "_start") unreachable))
W
cat >"$tmp/spin.wat" <<'W'
(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))
W
wat2wasm "$tmp/trap.wat" -o "$tmp/trap.wasm" && wat2wasm "$tmp/spin.wat" -o "$tmp/spin.wasm" || { echo "wat2wasm failed"; exit 1; }
echo "not a module" >"$tmp/junk.wasm"

start_server
check "server starts" $? "$(cat "$tmp/out" "$tmp/err")"
# Every verb below is told where the server is with --server ($s) unless it
# tests MOTE_URL.
s=(--server "$base")

# run: exit status in $rc, stdout in $out, stderr in $err
run() { "$mote" "$@" >"$tmp/o" 2>"$tmp/e"; rc=$?; out=$(cat "$tmp/o"); err=$(cat "$tmp/e"); }

# ---- deploy ----------------------------------------------------------------------
run deploy echo "$tmp/tool.wasm" --memory 64 --timeout 5000 "${s[@]}"
[ $rc -eq 0 ] && [[ "$out" =~ ^"deployed echo version 1 (module "[0-9a-f]{12}", "(quick|opt)" tier)"$ ]]
check "deploy prints the version" $? "rc=$rc out=$out err=$err"
run deploy echo "$tmp/tool.wasm" "${s[@]}"
[ $rc -eq 0 ] && [[ "$out" == "deployed echo version 2 "* ]]
check "deploy again: version 2" $? "rc=$rc out=$out err=$err"
run deploy cat "$tmp/tool.wasm" --env MODE=cat --public --max-concurrency 3 "${s[@]}"; c1=$rc
run deploy fail "$tmp/tool.wasm" --env MODE=fail "${s[@]}"; c2=$rc
run deploy env "$tmp/tool.wasm" --env MODE=env --env 'GREETING=hello & bye=now' "${s[@]}"; c3=$rc
run deploy trap "$tmp/trap.wasm" "${s[@]}"; c4=$rc
run deploy spin "$tmp/spin.wasm" --timeout 200 "${s[@]}"; c5=$rc
run deploy cgi "$tmp/tool.wasm" --cgi "${s[@]}"; c6=$rc
[ "$c1$c2$c3$c4$c5$c6" = 000000 ]
check "deploy with settings" $? "$c1 $c2 $c3 $c4 $c5 $c6 $err"
run deploy --json echo "$tmp/tool.wasm" --memory 32 "${s[@]}"
[ $rc -eq 0 ] && [ "$(printf '%s' "$out" | jq -r '.name, .version, .settings.memory_mib' | tr '\n' ' ')" = "echo 3 32 " ]
check "deploy --json: the version record" $? "rc=$rc out=$out"

run deploy junk "$tmp/junk.wasm" "${s[@]}"
[ $rc -eq 65 ] && [[ "$err" == "mote deploy: malformed module"* ]]
check "deploy of a malformed .wasm: the server's message, status 65" $? "rc=$rc err=$err"
run deploy x "$tmp/tool.c" "${s[@]}"
[ $rc -eq 65 ] && [[ "$err" == *"neither a WebAssembly module"* ]]
check "deploy of a file that is neither module nor bundle" $? "rc=$rc err=$err"
run deploy .bad "$tmp/tool.wasm" "${s[@]}"
[ $rc -eq 72 ] && [[ "$err" == *"not a valid function name"* ]]
check "deploy with a bad name: refused, 72" $? "rc=$rc err=$err"
run deploy x "$tmp/tool.wasm" --memory 99999 "${s[@]}"
[ $rc -eq 72 ] && [[ "$err" == *"memory takes MiB"* ]]
check "deploy with a setting out of range: refused, 72" $? "rc=$rc err=$err"
run deploy x "$tmp/missing.wasm" "${s[@]}"
[ $rc -eq 74 ] && [[ "$err" == *"cannot read"*"missing.wasm"* ]]
check "deploy of a missing file: 74" $? "rc=$rc err=$err"

# Bundles go out as application/gzip and application/zip, and deploy (the
# zip as version 2). Sent as anything else, the server would call them
# malformed (65).
mkdir -p "$tmp/bundle" && cp "$tmp/tool.wasm" "$tmp/bundle/main.wasm"
tar -czf "$tmp/b.tar.gz" -C "$tmp/bundle" main.wasm
(cd "$tmp/bundle" && zip -q ../b.zip main.wasm)
for f in b.tar.gz:application/gzip b.zip:application/zip; do
  run deploy bundled "$tmp/${f%%:*}" "${s[@]}"
  [ $rc -eq 0 ] && [[ "$out" == *"deployed bundled"* ]]
  check "deploy of a bundle ${f%%:*}: sent as ${f#*:}" $? "rc=$rc err=$err"
done

# ---- invoke ----------------------------------------------------------------------
run invoke echo a 'b c' '&x=?/#%' 'ü' "${s[@]}" -- --not-an-option -
[ $rc -eq 0 ] && [ "$out" = "$(printf 'echo\na\nb c\n&x=?/#%%\nü\n--not-an-option\n-')" ] && [ -z "$err" ]
check "invoke: arguments reach argv unchanged, -- ends the options" $? "rc=$rc out=[$out] err=$err"

head -c 200000 /dev/urandom >"$tmp/rand"
printf '\0\0\377\n\r\0' >>"$tmp/rand"
"$mote" invoke cat --data "$tmp/rand" "${s[@]}" >"$tmp/rand.out"; rc=$?
[ $rc -eq 0 ] && cmp -s "$tmp/rand" "$tmp/rand.out"
check "invoke --data FILE: binary bytes round trip" $? "rc=$rc"
"$mote" invoke cat --data - "${s[@]}" <"$tmp/rand" >"$tmp/rand.out2"; rc=$?
[ $rc -eq 0 ] && cmp -s "$tmp/rand" "$tmp/rand.out2"
check "invoke --data -: stdin round trip" $? "rc=$rc"
: >"$tmp/empty"
run invoke cat --data "$tmp/empty" "${s[@]}"
check "invoke --data of an empty file" $([ $rc -eq 0 ] && [ -z "$out" ]; echo $?) "rc=$rc out=$out err=$err"

run invoke env "${s[@]}"
check "invoke: env settings with & and = survive the query" $([ "$out" = "GREETING=hello & bye=now" ]; echo $?) "[$out] $err"

run invoke -v echo hi "${s[@]}"
id=$(printf '%s' "$err" | sed -nE 's/^mote invoke: activation ([0-9a-f]{32}), version 3, (quick|opt) tier, HTTP 200: wait .* us, init .*, exec .*$/\1/p')
[ $rc -eq 0 ] && [ "$out" = "$(printf 'echo\nhi')" ] && [ -n "$id" ]
check "invoke -v: the activation id and timings on stderr" $? "rc=$rc out=$out err=$err"

run invoke fail "${s[@]}"
[ $rc -eq 3 ] && [ -z "$out" ] && [[ "$err" == *"exited with status 3"* ]] && [[ "$err" == *"something went wrong: oops"* ]]
check "invoke of a function that exits 3: status 3, message and stderr tail" $? "rc=$rc out=$out err=$err"
run invoke trap "${s[@]}"
[ $rc -eq 68 ] && [[ "$err" == *unreachable* ]]
check "invoke of a trap: 68 as for mote run" $? "rc=$rc err=$err"
run invoke spin "${s[@]}"
[ $rc -eq 69 ]
check "invoke past the timeout: 69 as for mote run" $? "rc=$rc err=$err"
run invoke nope "${s[@]}"
[ $rc -eq 71 ] && [[ "$err" == *'no function here that this request may call'* ]]
check "invoke of an unknown function: 71" $? "rc=$rc err=$err"
run invoke cgi "${s[@]}"
[ $rc -eq 73 ] && [[ "$err" == "mote invoke: "* ]]
check "invoke of a CGI function whose output is not CGI: 73" $? "rc=$rc err=$err"
run invoke echo --data "$tmp/missing" "${s[@]}"
check "invoke --data of a missing file: 74" $([ $rc -eq 74 ]; echo $?) "rc=$rc err=$err"

# ---- ls ------------------------------------------------------------------------------
run ls "${s[@]}"
first=$(printf '%s\n' "$out" | head -n1)
row=$(printf '%s\n' "$out" | awk -F'\t' '$1 == "cat"')
[ $rc -eq 0 ] && [ "$first" = "$(printf 'NAME\tVERSION\tMEMORY\tTIMEOUT\tMAX-CONCURRENCY\tFLAGS\tDEPLOYED (UTC)')" ] \
  && [ "$(printf '%s\n' "$out" | tail -n +2 | cut -f1 | tr '\n' ' ')" = "bundled cat cgi echo env fail spin trap " ] \
  && [ "$(printf '%s' "$row" | cut -f2-6)" = "$(printf '1\t256 MiB\t30000 ms\t3\tpublic,env:1')" ]
check "ls: tab-separated table when not a terminal" $? "rc=$rc out=$out"
run ls --json "${s[@]}"
[ $rc -eq 0 ] && [ "$(printf '%s' "$out" | jq -r '[.functions[] | "\(.name):\(.version)"] | join(",")')" = \
  "bundled:2,cat:1,cgi:1,echo:3,env:1,fail:1,spin:1,trap:1" ] \
  && [ "$(printf '%s' "$out" | jq -r '.functions[] | select(.name == "cgi") | .settings.cgi')" = true ]
check "ls --json: the server's list" $? "rc=$rc out=$out"
# On a terminal (script(1) gives it one) the columns line up with the header.
if command -v script >/dev/null; then
  script -qec "$mote ls --server $base" /dev/null </dev/null >"$tmp/tty" 2>&1
  tr -d '\r' <"$tmp/tty" | awk 'NR == 1 { col = index($0, "VERSION"); next }
    { if (substr($0, col - 2, 3) !~ /^  [0-9]$/) bad = 1; n++ }
    END { exit !(col > 0 && n == 8 && !bad) }' && ! grep -q "$(printf '\t')" "$tmp/tty"
  check "ls on a terminal: aligned columns" $? "$(cat "$tmp/tty")"
fi

# ---- logs and activations -----------------------------------------------------------
run invoke echo first "${s[@]}"
run invoke echo second "${s[@]}"
run logs echo --limit 2 "${s[@]}"
[ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | grep -c 'HTTP 200  ok')" = 2 ] \
  && [ "$(printf '%s\n' "$out" | grep -E '^  stdout \| (first|second)$' | tr -d ' |' | tr '\n' ,)" = "stdoutfirst,stdoutsecond," ] \
  && printf '%s\n' "$out" | grep -q '^  stderr | 2 args$'
check "logs: the last calls oldest first with stdout and stderr excerpts" $? "rc=$rc out=$out err=$err"
run logs fail "${s[@]}"
[ $rc -eq 0 ] && [[ "$out" == *"HTTP 502  exit 3"* ]] && [[ "$out" == *"  stdout | partial"* ]] \
  && [[ "$out" == *"  stderr | something went wrong: oops"* ]]
check "logs of a failed call" $? "rc=$rc out=$out"
run logs never "${s[@]}"
[ $rc -eq 71 ] && [[ "$err" == *'no function named "never"'* ]]
check "logs of an unknown function: 71" $? "rc=$rc err=$err"
run logs --json echo --limit 1 "${s[@]}"
[ $rc -eq 0 ] && [ "$(printf '%s' "$out" | jq -r '.activations[0].stdout')" = "$(printf 'echo\nsecond')" ]
check "logs --json" $? "rc=$rc out=$out"

run activations --function echo --limit 3 "${s[@]}"
[ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 4 ] \
  && [ "$(printf '%s\n' "$out" | head -n1 | cut -f1,2,9)" = "$(printf 'ID\tFUNCTION\tOUTCOME')" ] \
  && [ "$(printf '%s\n' "$out" | tail -n +2 | cut -f2 | sort -u)" = echo ]
check "activations --function --limit: a table" $? "rc=$rc out=$out"
run activations "${s[@]}"
[ $rc -eq 0 ] && printf '%s\n' "$out" | awk -F'\t' '$2 == "trap" && $5 == 502 && $9 ~ /unreachable/ { f = 1 } END { exit !f }'
check "activations of every function" $? "rc=$rc out=$out"
run activations "$id" "${s[@]}"
[ $rc -eq 0 ] && [[ "$out" == *"id        $id"* ]] && [[ "$out" == *"function  echo (version 3)"* ]] \
  && [[ "$out" == *"  stdout | hi"* ]]
check "activations ID: the one call" $? "rc=$rc out=$out"
run activations "$id" --json "${s[@]}"
[ $rc -eq 0 ] && [ "$(printf '%s' "$out" | jq -r '.id, .function' | tr '\n' ' ')" = "$id echo " ]
check "activations ID --json" $? "rc=$rc out=$out"
run activations 0123456789abcdef0123456789abcdef "${s[@]}"
check "activations of an unknown id: 71" $([ $rc -eq 71 ]; echo $?) "rc=$rc err=$err"

# ---- MOTE_URL ----------------------------------------------------------------------------
out=$(MOTE_URL="$base" "$mote" invoke echo via-env 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$out" = "$(printf 'echo\nvia-env')" ]
check "MOTE_URL is honoured" $? "rc=$rc out=$out"
out=$(MOTE_URL="http://127.0.0.1:1" "$mote" ls --server "$base/" 2>&1); rc=$?
check "--server wins over MOTE_URL (a trailing / too)" $([ $rc -eq 0 ]; echo $?) "rc=$rc out=$out"

# ---- rm ------------------------------------------------------------------------------------
run rm echo "${s[@]}"
[ $rc -eq 0 ] && [ "$out" = "removed echo" ]
check "rm" $? "rc=$rc out=$out err=$err"
run invoke echo "${s[@]}"
[ $rc -eq 71 ] && [[ "$err" == *'no function here that this request may call'* ]]
check "invoke after rm: 71 with the server's message" $? "rc=$rc err=$err"
run rm echo "${s[@]}"
check "rm of a function that is gone: 71" $([ $rc -eq 71 ]; echo $?) "rc=$rc err=$err"
run logs echo --limit 1 "${s[@]}"
check "logs after rm: the records stay" $([ $rc -eq 0 ] && [[ "$out" == *"stdout | via-env"* ]]; echo $?) "rc=$rc out=$out"

# ---- bad usage --------------------------------------------------------------------------------
bad=
for cmd in "invoke" "deploy x" "deploy" "deploy x $tmp/tool.wasm extra" "deploy x $tmp/tool.wasm --memory abc" \
           "deploy x $tmp/tool.wasm --env NOEQUALS" "invoke echo --bogus" "invoke echo --json" "ls extra" \
           "ls --bogus" "rm" "rm a b" "logs" "logs x --limit 0" "activations --limit" \
           "activations ID --limit 3" "ls --server" "nosuchverb"; do
  # shellcheck disable=SC2086
  "$mote" $cmd --server "$base" >"$tmp/o" 2>"$tmp/e"; rc=$?
  [ $rc -eq 64 ] && [ -s "$tmp/e" ] && [ ! -s "$tmp/o" ] || bad="$bad [$cmd]=$rc"
done
[ -z "$bad" ]
check "bad usage: 64 and a message on stderr" $? "$bad"
bad=
for v in deploy invoke ls rm logs activations; do
  "$mote" "$v" --help >"$tmp/o" 2>&1 && grep -q "^usage: mote $v" "$tmp/o" || bad="$bad $v"
  "$mote" help "$v" >"$tmp/o" 2>&1 && grep -q "^usage: mote $v" "$tmp/o" || bad="$bad help-$v"
done
[ -z "$bad" ]
check "--help and mote help VERB for every verb" $? "$bad"

# ---- the server down --------------------------------------------------------------------------
stop_server
run ls "${s[@]}"
[ $rc -eq 75 ] && [[ "$err" == "mote ls: cannot reach mote at $base: "*'(is `mote serve` running?'* ]]
check "server down: a clear error, 75" $? "rc=$rc err=$err"
run invoke cat --data "$tmp/rand" "${s[@]}"
check "server down: invoke too" $([ $rc -eq 75 ] && [[ "$err" == *"cannot reach mote"* ]]; echo $?) "rc=$rc err=$err"
out=$(MOTE_URL="$base" "$mote" rm x 2>&1); rc=$?
check "server down, through MOTE_URL" $([ $rc -eq 75 ] && [[ "$out" == *"cannot reach mote at $base"* ]]; echo $?) "rc=$rc out=$out"

if [ $failed -ne 0 ]; then echo "  the server's stderr (last lines):" >&2; tail -n 20 "$tmp/err" >&2; fi
echo "tests/cli/test_client.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]
