#!/usr/bin/env bash
# `mote serve` CGI mode (deploy with cgi=true) end to end: a real server on a
# free loopback port with a temporary data directory, driven with curl.
# usage: test_cgi.sh BUILD_DIR
set -u
build=${1:-build}
test_name=cgi
. "$(dirname "$0")/server_lib.sh"

# One C program; what it prints is chosen by argv[1].
cat >"$tmp/cgi.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static const char *e(const char *k) { const char *v = getenv(k); return v ? v : "<unset>"; }
int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "plain";
  if (!strcmp(m, "plain")) { printf("Content-Type: text/plain\n\nhello cgi\n"); return 0; }
  if (!strcmp(m, "crlf")) { printf("Content-Type: text/html; charset=utf-8\r\n\r\n<p>hi</p>"); return 0; }
  if (!strcmp(m, "notfound")) { printf("Status: 404 Not Found\nContent-Type: text/plain\n\nnothing here\n"); return 0; }
  if (!strcmp(m, "redirect")) { printf("Location: https://example.com/next\n\n"); return 0; }
  if (!strcmp(m, "custom")) {
    printf("Content-Type: text/plain\nX-Custom-Out: yes please\nConnection: close\nX-Mote-Tier: fake\n\nbody\n");
    return 0;
  }
  if (!strcmp(m, "badstatus")) { printf("Status: abc\nContent-Type: text/plain\n\nx"); return 0; }
  if (!strcmp(m, "nohead")) { printf("just a body, no headers\n"); return 0; }
  if (!strcmp(m, "noblank")) { printf("Content-Type: text/plain\n"); return 0; }
  if (!strcmp(m, "empty")) return 0;
  if (!strcmp(m, "huge")) { printf("X-Big: "); for (int i = 0; i < 70000; i++) putchar('a'); printf("\n\nx"); return 0; }
  if (!strcmp(m, "nul")) { fwrite("X-N: a\0b\n\nx", 1, 11, stdout); return 0; }
  if (!strcmp(m, "nulbody")) { fwrite("Content-Type: text/plain\n\na\0b", 1, 29, stdout); return 0; }
  if (!strcmp(m, "flood")) { for (int i = 0; i < 5000; i++) printf("X-H%d: v\n", i); printf("\nx"); return 0; }
  if (!strcmp(m, "lines")) { for (int i = 0; i < 101; i++) printf("X-L%d: v\n", i); printf("\nx"); return 0; }
  if (!strcmp(m, "maxlines")) {
    printf("Content-Type: text/plain\n");
    for (int i = 1; i < 100; i++) printf("X-L%d: %070d\n", i, i);
    printf("\nok");
    return 0;
  }
  if (!strcmp(m, "fail")) { printf("Content-Type: text/plain\n\nhalf"); fprintf(stderr, "boom\n"); return 4; }
  if (!strcmp(m, "vars")) {
    printf("Content-Type: text/plain\n\n");
    const char *ks[] = {"REQUEST_METHOD", "QUERY_STRING", "PATH_INFO", "SCRIPT_NAME", "CONTENT_TYPE",
                        "CONTENT_LENGTH", "HTTP_X_CUSTOM", "HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION",
                        "GATEWAY_INTERFACE", "SERVER_PROTOCOL", "SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR",
                        "HTTP_USER_AGENT", "GREETING", "HTTP_X_TWICE"};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) printf("%s=%s\n", ks[i], e(ks[i]));
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    return 0;
  }
  if (!strcmp(m, "cat")) {
    printf("Content-Type: application/x-echo\n\n");
    static char buf[65536]; size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
    return 0;
  }
  return 1;
}
C
clang-19 --target=wasm32-wasi -O2 -Wl,--stack-first -Wl,-z,stack-size=262144 "$tmp/cgi.c" -o "$tmp/cgi.wasm" || { echo "clang-19 failed"; exit 1; }

start_server
check "server starts" $? "$(cat "$tmp/out" "$tmp/err")"

deploy c "$tmp/cgi.wasm" "cgi=true&env=GREETING=hi"
[ "$code" = 201 ] && [ "$(jget '.settings.cgi')" = true ]
check "deploy with cgi=true: recorded" $? "$code $body"
deploy plain "$tmp/cgi.wasm"
[ "$code" = 201 ] && [ "$(jget '.settings.cgi')" = false ]
check "deploy without cgi: false" $? "$code $body"
deploy bad "$tmp/cgi.wasm" "cgi=maybe"
[ "$code" = 400 ] && [ "$(jget '.code')" = bad_setting ]
check "cgi=maybe: 400" $? "$code $body"
req GET /v1/functions/c
[ "$code" = 200 ] && [ "$(jget '.settings.cgi')" = true ]
check "GET the function shows cgi" $? "$code $body"

req GET "/faas/c?arg=plain"
[ "$code" = 200 ] && [ "$body" = "hello cgi" ] && [ "$(header Content-Type)" = text/plain ] \
  && [ -n "$(header X-Mote-Activation-Id)" ] && [ -n "$(header X-Mote-Tier)" ]
check "content-type + body, X-Mote headers kept" $? "$code $body $(cat "$tmp/h")"

req GET "/faas/c?arg=crlf"
[ "$code" = 200 ] && [ "$body" = "<p>hi</p>" ] && [ "$(header Content-Type)" = "text/html; charset=utf-8" ]
check "CRLF header lines" $? "$code $body"

req GET "/faas/c?arg=notfound"
[ "$code" = 404 ] && [ "$body" = "nothing here" ]
check "Status: 404 with a body" $? "$code $body"

req GET "/faas/c?arg=redirect"
[ "$code" = 302 ] && [ "$(header Location)" = "https://example.com/next" ]
check "Location without Status: 302" $? "$code $(cat "$tmp/h")"

req GET "/faas/c?arg=custom"
[ "$code" = 200 ] && [ "$(header X-Custom-Out)" = "yes please" ] && [ -z "$(header Connection | grep -i close)" ] \
  && [ "$(header X-Mote-Tier)" != fake ] && header X-Mote-Cgi-Dropped | grep -q Connection
check "custom header passed, hop-by-hop and X-Mote-* dropped" $? "$code $(cat "$tmp/h")"

req GET "/faas/c?arg=badstatus"
[ "$code" = 502 ] && [ "$(jget '.code')" = cgi ] && jget '.error' | grep -q "invalid Status"
check "invalid Status: 502" $? "$code $body"

req GET "/faas/c?arg=nohead"
[ "$code" = 502 ] && [ "$(jget '.code')" = cgi ] && jget '.error' | grep -q "printed no header block"
check "no header block: 502" $? "$code $body"
req GET "/faas/c?arg=noblank"
[ "$code" = 502 ] && jget '.error' | grep -q "printed no header block"
check "no empty line: 502" $? "$code $body"
req GET "/faas/c?arg=empty"
[ "$code" = 502 ] && jget '.error' | grep -q "printed no header block"
check "empty stdout: 502" $? "$code $body"
req GET "/faas/c?arg=huge"
[ "$code" = 502 ] && jget '.error' | grep -q "8 KiB"
check "header block over 8 KiB: 502" $? "$code $body"
# A NUL byte in the header block is a 502 (it crashed the server once); in the body it is data.
req GET "/faas/c?arg=nul"
[ "$code" = 502 ] && [ "$(jget '.code')" = cgi ] && jget '.error' | grep -q "NUL byte"
check "NUL in the header block: 502" $? "$code $body"
req GET "/healthz"
check "the server survives a NUL header" $([ "$code" = 200 ]; echo $?) "$code $body"
acurl -s --max-time 20 -o "$tmp/nulbody" -w '%{http_code}' "$base/faas/c?arg=nulbody" >"$tmp/code"
[ "$(cat "$tmp/code")" = 200 ] && [ "$(od -An -tx1 "$tmp/nulbody" | tr -d ' \n')" = 610062 ]
check "NUL in the body passes" $? "$(cat "$tmp/code")"
# 5000 header lines: a 502 that says so, and a record that says 502 (not an empty reply).
req GET "/faas/c?arg=flood"
[ "$code" = 502 ] && [ "$(jget '.code')" = cgi ]
check "5000 header lines: 502" $? "$code $body"
id=$(header X-Mote-Activation-Id)
req GET "/v1/activations/$id"
[ "$code" = 200 ] && [ "$(jget '.http_status')" = 502 ] && jget '.outcome' | grep -q '^cgi:'
check "5000 header lines: the record says 502" $? "$code $body"
req GET "/faas/c?arg=lines"
[ "$code" = 502 ] && jget '.error' | grep -q "more than 100 header lines"
check "101 header lines: 502" $? "$code $body"
# The largest block allowed (100 lines, near 8 KiB) comes through whole.
req GET "/faas/c?arg=maxlines" -H "X-Pad: $(head -c 6000 /dev/zero | tr '\0' a)"
[ "$code" = 200 ] && [ "$body" = ok ] && [ -n "$(header X-L99)" ]
check "100 header lines near 8 KiB: 200" $? "$code $body"
req GET "/faas/c?arg=fail"
[ "$code" = 502 ] && [ "$(jget '.code, .exit_code')" = "exit 4" ] && jget '.stderr' | grep -q boom
check "non-zero exit: the usual 502" $? "$code $body"

# req sends the key (Authorization: Basic ...): c is not public. The guest
# must not see it.
req POST "/faas/c/a/b?arg=vars&x=1&y=two%20words" -H 'X-Custom: custom value' \
  -H 'Proxy-Authorization: Basic c2VjcmV0' -H 'Content-Type: text/x-mine' -H 'X-Twice: 1' -H 'X-Twice: 2' \
  --data-binary 'abc'
printf '%s\n' "$body" >"$tmp/vars"
v() { sed -n "s/^$1=//p" "$tmp/vars"; }
[ "$code" = 200 ] && [ "$(v REQUEST_METHOD)" = POST ] && [ "$(v QUERY_STRING)" = "arg=vars&x=1&y=two%20words" ] \
  && [ "$(v PATH_INFO)" = /a/b ] && [ "$(v SCRIPT_NAME)" = /faas/c ] && [ "$(v CONTENT_TYPE)" = text/x-mine ] \
  && [ "$(v CONTENT_LENGTH)" = 3 ] && [ "$(v HTTP_X_CUSTOM)" = "custom value" ] \
  && [ "$(v HTTP_AUTHORIZATION)" = "<unset>" ] && [ "$(v HTTP_PROXY_AUTHORIZATION)" = "<unset>" ] \
  && [ "$(v GATEWAY_INTERFACE)" = CGI/1.1 ] && [ "$(v SERVER_PROTOCOL)" = HTTP/1.1 ] \
  && [ "$(v SERVER_NAME)" = 127.0.0.1 ] && [ "$(v SERVER_PORT)" = "$port" ] && [ "$(v REMOTE_ADDR)" = 127.0.0.1 ] \
  && [ "$(v GREETING)" = hi ] && [ "$(v HTTP_X_TWICE)" = "1, 2" ] \
  && [ "$(v 'argv\[0\]')" = c ] && [ "$(v 'argv\[1\]')" = vars ] && [ -z "$(v 'argv\[2\]')" ]
check "CGI variables (method, query, path, headers; no Authorization), argv unchanged" $? "$code $body"

req GET "/faas/c?arg=vars"
printf '%s\n' "$body" >"$tmp/vars"
[ "$code" = 200 ] && [ "$(v REQUEST_METHOD)" = GET ] && [ "$(v PATH_INFO)" = "" ] && [ "$(v QUERY_STRING)" = "arg=vars" ] \
  && [ "$(v CONTENT_LENGTH)" = 0 ] && [ "$(v HTTP_X_CUSTOM)" = "<unset>" ]
check "GET without a path: empty PATH_INFO" $? "$code $body"

# The same function named with its namespace: /faas/NS/NAME/rest. SCRIPT_NAME
# and PATH_INFO still make up the path.
req GET "/faas/guest/c/x/y?arg=vars"
printf '%s\n' "$body" >"$tmp/vars"
[ "$code" = 200 ] && [ "$(v PATH_INFO)" = /x/y ] && [ "$(v SCRIPT_NAME)" = /faas/guest/c ]
check "/faas/NS/NAME/rest: PATH_INFO /rest, SCRIPT_NAME /faas/NS/NAME" $? "$code $body"
# A path after a function without cgi names a namespace, so /faas/plain/x is
# function x of a namespace "plain": none here, the 404 of any function this
# request may not call.
req GET "/faas/plain/x"; c1=$code; b1=$body
req GET "/faas/nosuch/x"
[ "$c1" = 404 ] && [ "$code" = 404 ] && [ "$b1" = "$body" ]
check "a path after a function without cgi: the 404 of a missing function" $? "$c1 $b1 / $code"

head -c 200000 /dev/urandom >"$tmp/rand"
acurl -s --max-time 20 -D "$tmp/h" -o "$tmp/rand.out" -w '%{http_code}' --data-binary "@$tmp/rand" "$base/faas/c?arg=cat" >"$tmp/code"
[ "$(cat "$tmp/code")" = 200 ] && cmp -s "$tmp/rand" "$tmp/rand.out" && [ "$(header Content-Type)" = application/x-echo ]
check "POST body is stdin in CGI mode" $? "$(cat "$tmp/code")"

# A function without cgi is unaffected: its header lines are body bytes.
req GET "/faas/plain?arg=notfound"
[ "$code" = 200 ] && [ "$(header Content-Type)" = application/octet-stream ] \
  && [ "$body" = "$(printf 'Status: 404 Not Found\nContent-Type: text/plain\n\nnothing here')" ]
check "non-CGI: stdout headers are body bytes" $? "$code $body"
req GET "/faas/plain?arg=vars"
printf '%s\n' "$body" >"$tmp/vars"
[ "$code" = 200 ] && [ "$(v REQUEST_METHOD)" = "<unset>" ]
check "non-CGI: no CGI variables" $? "$code $body"
req GET "/faas/plain/a/b?arg=plain"
[ "$code" = 404 ]
check "non-CGI: no path after the name" $? "$code $body"
req GET "/faas/plain?x=1"
[ "$code" = 400 ]
check "non-CGI: other query parameters still refused" $? "$code $body"
req GET "/faas/nope/a"
[ "$code" = 404 ]
check "unknown function with a path: 404" $? "$code $body"

# The activation of a CGI refusal says why.
req GET "/faas/c?arg=nohead"
id=$(header X-Mote-Activation-Id)
req GET "/v1/activations/$id"
[ "$code" = 200 ] && [ "$(jget '.http_status')" = 502 ] && jget '.outcome' | grep -q '^cgi:'
check "activation of a CGI refusal" $? "$code $body"

# Redeploy without cgi: the mode goes with the version.
deploy c "$tmp/cgi.wasm"
req GET "/faas/c?arg=plain"
[ "$code" = 200 ] && [ "$(header Content-Type)" = application/octet-stream ] && printf '%s' "$body" | grep -q '^Content-Type: text/plain'
check "redeploy without cgi turns it off" $? "$code $body"

stop_server
echo "tests/server/test_cgi.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
