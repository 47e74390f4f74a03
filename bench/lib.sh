# Shared by the benchmark scripts (sourced, not run).

# The flag that keeps `mote serve` of BUILD from taking the default
# operator's address (127.0.0.1:9464, /metrics) that a second server, or
# another mote on the machine, would want too: the benchmarks read no
# /metrics. Empty for a build older than --metrics-listen (bench/server_ab.sh
# runs old builds).
bench_no_metrics() { # BUILD
  # The help is read whole first: `mote ... | grep -q` under pipefail ends the
  # script when grep's early exit gives mote a SIGPIPE (rc 141), and an old
  # build without the option must not fail either.
  local help
  help=$("$1/mote" serve --help 2>&1 || true)
  case $help in *--metrics-listen*) echo "--metrics-listen off" ;; esac
}

# Builds lookup.wasm into DIR: bench/programs/lookup.c with its 1 MiB table,
# 262,144 words of a linear congruential sequence (generated here).
bench_lookup_wasm() { # DIR
  awk 'BEGIN { printf "static const unsigned lookup_table[262144] = {\n"; x = 12345
               for (i = 0; i < 262144; i++) { x = (x * 69069 + 1) % 4294967296; printf "%u,", x
                                            if (i % 16 == 15) printf "\n" }
               print "};" }' >"$1/lookup_table.h"
  clang-19 --target=wasm32-wasi -O2 -I"$1" bench/programs/lookup.c -o "$1/lookup.wasm"
}

# A function of `make functions` as a bundle: FN_DIR/F.wasm as main.wasm and
# FN_DIR/F/'s files, into OUT (.tar.gz).
bench_bundle() { # FN_DIR F OUT
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/mote-bundle-XXXXXX")
  cp "$1/$2.wasm" "$dir/main.wasm"
  cp -r "$1/$2/." "$dir/"
  tar -C "$dir" -czf "$3" .
  rm -rf "$dir"
}

# A wrk script that POSTs the file named by $WRK_BODY (none when unset or -).
bench_post_lua() { # FILE
  cat >"$1" <<'LUA'
local path = os.getenv("WRK_BODY")
if path and path ~= "-" then
  local f = assert(io.open(path, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
end
LUA
}

# Waits (bounded: 10 minutes) until function NAME of the server at URL is
# served on the opt tier; KEY: the credential (UUID:KEY) its record takes.
bench_wait_opt() { # URL KEY NAME
  for _ in $(seq 3000); do
    [ "$(curl -fs -u "$2" "$1/v1/functions/$3" | jq -r .tier)" = opt ] && return 0
    sleep 0.2
  done
  return 1
}
