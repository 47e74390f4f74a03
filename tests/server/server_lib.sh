# Shared by the tests of `mote serve` (sourced, not run): a real server on a
# free loopback port with a temporary data directory, driven with curl.
# The sourcing script sets `build` and `test_name` first; this defines
# $mote, $tmp (removed on exit, with the server killed), check, start_server
# ($base, $mbase),
# stop_server, req, req_as, mreq, acurl, deploy, header, jget, wait_opt, wait_metric
# and the gates (gate_bundle, gate_deploy, gate_of, gate_open).
#
# Keys: the server runs with --dev, so namespace guest has OpenWhisk's
# well-known key, $dev_auth. req, deploy and acurl send it; req_as sends
# another (or none: req_as "" GET /v1/functions).
mote="$build/mote"
dev_auth="23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
auth=$dev_auth # what req sends: UUID:KEY, or "" for no Authorization header
dev_flag=--dev # start_server's; `dev_flag= start_server` starts a server without it
start_wait=ready # start_server waits for /healthz "start": "ready"; `start_wait= start_server`: not
tmp=$(mktemp -d "/tmp/mote-$test_name-XXXXXX")
server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then kill -9 "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  server_pid=
}
trap 'stop_server; rm -rf "$tmp"' EXIT
passed=0; failed=0
t_start=$(date +%s%N)
check() { # name, condition result (0 = ok), detail
  [ -n "${MOTE_TEST_TIMING:-}" ] && echo "  $(( ($(date +%s%N) - t_start) / 1000000 )) ms: $1" >&2
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "  FAIL $1: $3" >&2; fi
}

# Starts the server (with $dev_flag) on port 0 (the kernel picks a free one)
# and reads the port from its "listening" line, and the operator's port
# (/metrics, also any free one: --listen's port is 0) from the same line:
# $base is the public address, $mbase the operator's. WORKERS defaults to 4; more
# arguments are passed on to mote serve. It waits for that line while the
# server lives, up to 2 minutes (the bound is only against a hang), then,
# unless start_wait= is set, for /healthz to say "start": "ready" (every
# stored function prepared: until then a call of one may answer 503).
start_server() {
  : >"$tmp/out"
  "$mote" serve $dev_flag --listen 127.0.0.1:0 --data "$tmp/data" --workers "${1:-4}" "${@:2}" >"$tmp/out" 2>>"$tmp/err" &
  server_pid=$!
  local until=$((SECONDS + 120))
  while [ $SECONDS -lt $until ]; do
    port=$(sed -nE 's|^mote: listening on http://127\.0\.0\.1:([0-9]+) .*|\1|p' "$tmp/out")
    mport=$(sed -nE 's|^mote: listening on .*metrics http://127\.0\.0\.1:([0-9]+)/metrics.*|\1|p' "$tmp/out")
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  base="http://127.0.0.1:$port"
  mbase="http://127.0.0.1:$mport"
  [ -n "$port" ] || return 1
  # The stored functions are prepared after the server listens (503
  # "starting" meanwhile): wait for that state unless the test sets
  # start_wait= (test_restart.sh), up to 2 minutes, a bound against a hang.
  [ -z "$start_wait" ] && return 0
  while [ $SECONDS -lt $until ]; do
    [ "$(curl -s --max-time 20 "$base/healthz" | jq -r .start 2>/dev/null)" = ready ] && return 0
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# curl with a bound on time and the credentials $auth; -s, status in $code,
# body in $body, headers in $tmp/h; without a reply (000), $body is curl's error
req() { # METHOD PATH [curl args...]
  local m=$1 p=$2; shift 2
  rm -f "$tmp/h" "$tmp/b"
  code=$(curl -sS --max-time 20 -X "$m" -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' \
    ${auth:+-u "$auth"} "$@" "$base$p" 2>"$tmp/curl.err")
  touch "$tmp/h" "$tmp/b"
  body=$(cat "$tmp/b")
  [ "$code" != 000 ] || body="(no reply: $(cat "$tmp/curl.err"))"
}
req_as() { # UUID:KEY|"" METHOD PATH [curl args...]: req with other credentials, or none
  local auth=$1; shift
  req "$@"
}
mreq() { # METHOD PATH [curl args...]: req to the operator's address ($mbase), without a key
  local base=$mbase auth=
  req "$@"
}
acurl() { curl -u "$dev_auth" "$@"; } # curl with the development key
deploy() { # NAME FILE [QUERY]
  req PUT "/v1/functions/$1${3:+?$3}" -H 'Content-Type: application/wasm' --data-binary "@$2"
}
header() { sed -nE "s/^$1: ([^\r]*)\r?$/\1/Ip" "$tmp/h"; }
# A jq filter on the last body; several values come out space-separated.
jget() { printf '%s' "$body" | jq -r "[$1] | map(if type == \"array\" then join(\",\") else tostring end) | join(\" \")" 2>/dev/null; }

# Waits until the version record of $1 leaves "building" (its opt tier built
# or failed); the record is left in $body. The build runs in the background,
# behind other functions' builds (gcc, slow on a loaded machine): up to 10
# minutes, a bound only against a hang.
wait_opt() {
  local until=$((SECONDS + 600))
  while :; do
    req GET "/v1/functions/$1"
    [ "$(jget .opt_tier)" != building ] && return 0
    [ $SECONDS -ge $until ] && return 1
    sleep 0.1
  done
}

# Polls the operator's /metrics (into $tmp/m) until the sample (metric{labels} as printed)
# has the value; up to 2 minutes, a bound only against a hang.
wait_metric() { # SAMPLE VALUE
  local until=$((SECONDS + 120)) v=
  while :; do
    curl -s --max-time 20 "$mbase/metrics" >"$tmp/m"
    v=$(awk -v k="$1" '$1 == k { print $2 }' "$tmp/m")
    [ "$v" = "$2" ] && return 0
    [ $SECONDS -ge $until ] && break
    sleep 0.05
  done
  echo "  (gave up waiting for $1 = $2; it is $v)" >&2
  return 1
}

# Gates: a call that holds its execution slot for exactly as long as a test
# needs a state (a worker busy, a queue full, a version in use), where a
# sleep would be a guess at how slow the machine is. A test program called
# with the arguments `gate NAME` (programs/gate.h) waits until the file NAME
# exists in its files; gate_open NAME creates it, behind the server's back
# (the files are read-only to the guest, not to us). The function must have
# files: gate_bundle WASM makes $tmp/gate.tgz of the module and a file, and
# gate_deploy NAME [QUERY] deploys it (timeout 10 minutes, as the gate's own
# bound); gate_zip WASM makes $tmp/gate.zip of the same, for an OpenWhisk zip
# action; gate_of FUNCTION finds the gates of one deployed otherwise. Every
# gate_deploy of one test shares the files directory, so gate names are
# unique per test.
gate_dir=
gate_files() { # WASM: $tmp/gate.d, the module as main.wasm and a file
  local d="$tmp/gate.d"
  rm -rf "$d" && mkdir -p "$d" && cp "$1" "$d/main.wasm" &&
    echo "the gates of the tests open here" >"$d/gates.txt"
}
gate_bundle() { gate_files "$1" && tar czf "$tmp/gate.tgz" -C "$tmp/gate.d" .; } # WASM
gate_zip() { # WASM
  gate_files "$1" && rm -f "$tmp/gate.zip" &&
    (cd "$tmp/gate.d" && zip -q "$tmp/gate.zip" main.wasm gates.txt)
}
gate_deploy() { # NAME [QUERY]
  req PUT "/v1/functions/$1?timeout=600000${2:+&$2}" -H 'Content-Type: application/gzip' \
    --data-binary "@$tmp/gate.tgz"
  local h; h=$(jget '.files_hash // empty')
  [ -n "$h" ] && gate_dir="$tmp/data/files/$h"
}
gate_of() { # FUNCTION: the gates of a function deployed otherwise (an OpenWhisk zip action)
  local h; h=$(acurl -s --max-time 20 "$base/v1/functions/$1" | jq -r '.files_hash // empty')
  [ -n "$h" ] && gate_dir="$tmp/data/files/$h"
}
gate_open() { # NAME
  [ -n "$gate_dir" ] && chmod u+w "$gate_dir" && : >"$gate_dir/$1"
}
