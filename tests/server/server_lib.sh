# Shared by the tests of `mote serve` (sourced, not run): a real server on a
# free loopback port with a temporary data directory, driven with curl.
# The sourcing script sets `build` and `test_name` first; this defines
# $mote, $tmp (removed on exit, with the server killed), check, start_server,
# stop_server, req, deploy, header and jget.
mote="$build/mote"
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

# Starts the server on port 0 (the kernel picks a free one) and reads the
# port from its "listening" line. WORKERS defaults to 4; more arguments are
# passed on to mote serve.
start_server() {
  : >"$tmp/out"
  "$mote" serve --listen 127.0.0.1:0 --data "$tmp/data" --workers "${1:-4}" "${@:2}" >"$tmp/out" 2>>"$tmp/err" &
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

# curl with a bound on time; -s, status in $code, body in $body, headers in $tmp/h
req() { # METHOD PATH [curl args...]
  local m=$1 p=$2; shift 2
  rm -f "$tmp/h" "$tmp/b"
  code=$(curl -s --max-time 20 -X "$m" -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' "$@" "$base$p")
  touch "$tmp/h" "$tmp/b"
  body=$(cat "$tmp/b")
}
deploy() { # NAME FILE [QUERY]
  req PUT "/v1/functions/$1${3:+?$3}" -H 'Content-Type: application/wasm' --data-binary "@$2"
}
header() { sed -nE "s/^$1: ([^\r]*)\r?$/\1/Ip" "$tmp/h"; }
# A jq filter on the last body; several values come out space-separated.
jget() { printf '%s' "$body" | jq -r "[$1] | map(if type == \"array\" then join(\",\") else tostring end) | join(\" \")" 2>/dev/null; }
