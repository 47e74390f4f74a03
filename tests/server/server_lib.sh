# Shared by the tests of `mote serve` (sourced, not run): a real server on a
# free loopback port with a temporary data directory, driven with curl.
# The sourcing script sets `build` and `test_name` first; this defines
# $mote, $tmp (removed on exit, with the server killed), check, start_server,
# stop_server, req, req_as, acurl, deploy, header, jget and wait_opt.
#
# Keys: the server runs with --dev, so namespace guest has OpenWhisk's
# well-known key, $dev_auth. req, deploy and acurl send it; req_as sends
# another (or none: req_as "" GET /v1/functions).
mote="$build/mote"
dev_auth="23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
auth=$dev_auth # what req sends: UUID:KEY, or "" for no Authorization header
dev_flag=--dev # start_server's; `dev_flag= start_server` starts a server without it
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
# and reads the port from its "listening" line. WORKERS defaults to 4; more
# arguments are passed on to mote serve.
start_server() {
  : >"$tmp/out"
  "$mote" serve $dev_flag --listen 127.0.0.1:0 --data "$tmp/data" --workers "${1:-4}" "${@:2}" >"$tmp/out" 2>>"$tmp/err" &
  server_pid=$!
  for _ in $(seq 200); do
    port=$(sed -nE 's|^mote: listening on http://127\.0\.0\.1:([0-9]+) .*|\1|p' "$tmp/out")
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  base="http://127.0.0.1:$port"
  [ -n "$port" ]
}

# curl with a bound on time and the credentials $auth; -s, status in $code,
# body in $body, headers in $tmp/h
req() { # METHOD PATH [curl args...]
  local m=$1 p=$2; shift 2
  rm -f "$tmp/h" "$tmp/b"
  code=$(curl -s --max-time 20 -X "$m" -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' \
    ${auth:+-u "$auth"} "$@" "$base$p")
  touch "$tmp/h" "$tmp/b"
  body=$(cat "$tmp/b")
}
req_as() { # UUID:KEY|"" METHOD PATH [curl args...]: req with other credentials, or none
  local auth=$1; shift
  req "$@"
}
acurl() { curl -u "$dev_auth" "$@"; } # curl with the development key
deploy() { # NAME FILE [QUERY]
  req PUT "/v1/functions/$1${3:+?$3}" -H 'Content-Type: application/wasm' --data-binary "@$2"
}
header() { sed -nE "s/^$1: ([^\r]*)\r?$/\1/Ip" "$tmp/h"; }
# A jq filter on the last body; several values come out space-separated.
jget() { printf '%s' "$body" | jq -r "[$1] | map(if type == \"array\" then join(\",\") else tostring end) | join(\" \")" 2>/dev/null; }

# Waits (bounded only against a hang) until the version record of $1 leaves
# "building" (its opt tier built or failed); the record is left in $body.
wait_opt() {
  for _ in $(seq 1200); do
    req GET "/v1/functions/$1"
    [ "$(jget .opt_tier)" != building ] && return 0
    sleep 0.1
  done
  return 1
}
