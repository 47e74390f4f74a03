#!/usr/bin/env bash
# The paper's evaluation (Hall and Ramachandran, IoTDI '19, section 5) reproduced in one run:
# the three functions (functions/) on four platforms, then bench/out/report.md and the plots.
#
#   native      the same C as a process per call (and its main called in a loop: the floor)
#   containers  the Docker engine started here, driven like OpenWhisk's invoker
#               (bench/paper/container-platform.mjs, action proxy bench/paper/action_proxy.c)
#   node        the paper's prototype: vm context + node:wasi per call (bench/node-prototype/)
#   mote        build/mote serve with lpr and recognize deployed as bundles, resize as .wasm
#
# usage: bench/paper.sh [BUILD_DIR]     (make bench-paper; QUICK=1 for make bench-quick)
# Needs: make functions bench-paper-tools, docker.io, wrk, gnuplot-nox, node (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
here=$PWD
fn=$here/$build/functions
tools=$here/$build/bench-paper
out=$here/bench/out
data=$out/paper
if [ "${QUICK:-0}" = 1 ]; then
  mode=quick; seq_calls=20; clients=20; ramp=2; mix_seq=10; mix_clients=10; mix_ramp=1
  wrk_s=3; loop_runs=10
else
  mode=full; seq_calls=50; clients=50; ramp=10; mix_seq=25; mix_clients=25; mix_ramp=5
  wrk_s=10; loop_runs=50
fi
DOCKER=/usr/bin/docker
for tool in dockerd "$DOCKER" wrk gnuplot node jq curl; do
  command -v "$tool" >/dev/null || { echo "bench-paper: $tool is missing: run scripts/deps.sh" >&2; exit 1; }
done

work=$(mktemp -d /tmp/mote-bench-paper-XXXXXX)
pids=()
dockerd_pid=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$dockerd_pid" ]; then
    ids=$("$DOCKER" -H "unix://$work/docker.sock" ps -aq 2>/dev/null || true)
    [ -n "$ids" ] && "$DOCKER" -H "unix://$work/docker.sock" rm -f $ids >/dev/null 2>&1
    kill "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null || true
    # The engine's overlay mounts live under the data root: gone with it.
    grep -o "$work/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
rm -rf "$data"
mkdir -p "$data"
log() { echo "bench-paper: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

# What each function gets: a body file (- for none) and its arguments as a query.
declare -A body query
body[lpr]=-;                                   query[lpr]='?arg=QQ9999Q'
body[resize]=$fn/images/china.jpg;             query[resize]='?arg=50'
body[recognize]=$fn/recognize-samples/sample-0.pgm; query[recognize]=''
functions=(lpr resize recognize)

echo "{\"mode\":\"$mode\",\"cores\":$(nproc),\"load_start\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"," \
     "\"cpu\":\"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\"," \
     "\"mem_gib\":$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)," \
     "\"seq_calls\":$seq_calls,\"clients\":$clients,\"ramp\":$ramp,\"mix_seq\":$mix_seq," \
     "\"mix_clients\":$mix_clients,\"mix_ramp\":$mix_ramp,\"wrk_s\":$wrk_s,\"loop_runs\":$loop_runs}" \
     > "$data/machine.json"

# ---- mote -------------------------------------------------------------------------------
# The data folder (and so the compile cache) is kept between runs: the -O2 compile of a
# function takes tens of seconds, and a deploy of the same module is then a cache hit.
# --dev: the /v1 routes take its well-known key; the functions are deployed public=true,
# so the load generators call /faas/NAME without a key, as they call the other platforms.
mote_port=$(free_port); mote_url=http://127.0.0.1:$mote_port
mote_auth=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
"$here/$build/mote" serve --dev --listen "127.0.0.1:$mote_port" --metrics-listen off --data "$tools/mote-data" >"$work/mote.log" 2>&1 &
mote_pid=$!; pids+=("$mote_pid")
wait_http "$mote_url/healthz" || { log "mote serve did not start: $(tail -3 "$work/mote.log")"; exit 1; }
declare -A mote_ok
for f in "${functions[@]}"; do
  if [ -d "$fn/$f" ] && [ -n "$(ls "$fn/$f")" ]; then
    # A bundle: main.wasm and the function's files, preopened read-only at the guest's "/".
    mkdir -p "$work/bundle-$f"
    cp "$fn/$f.wasm" "$work/bundle-$f/main.wasm"
    cp -r "$fn/$f/." "$work/bundle-$f/"
    tar -C "$work/bundle-$f" -czf "$work/$f.tar.gz" .
    status=$(curl -s -u "$mote_auth" -o "$work/deploy-$f.json" -w '%{http_code}' -X PUT \
      -H 'Content-Type: application/gzip' --data-binary @"$work/$f.tar.gz" "$mote_url/v1/functions/$f?public=true")
  else
    status=$(curl -s -u "$mote_auth" -o "$work/deploy-$f.json" -w '%{http_code}' -X PUT \
      -H 'Content-Type: application/wasm' --data-binary @"$fn/$f.wasm" "$mote_url/v1/functions/$f?public=true")
  fi
  if [ "$status" = 201 ] || [ "$status" = 200 ]; then
    mote_ok[$f]=1
  else
    mote_ok[$f]=0
    log "mote: deploying $f answered $status: $(head -c 300 "$work/deploy-$f.json"); its mote cells stay empty"
  fi
done
for f in "${functions[@]}"; do
  [ "${mote_ok[$f]}" = 1 ] || continue
  for _ in $(seq 900); do
    [ "$(curl -fs -u "$mote_auth" "$mote_url/v1/functions/$f" | jq -r .tier)" = opt ] && break
    sleep 0.2
  done
  log "mote: $f is on tier $(curl -fs -u "$mote_auth" "$mote_url/v1/functions/$f" | jq -r .tier)"
done

# ---- the Node prototype -----------------------------------------------------------------
node_port=$(free_port); node_url=http://127.0.0.1:$node_port
# Node 20 segfaults now and then under this load (node:wasi instances made and dropped at a high
# rate; with or without vm contexts): a supervisor restarts it and the report counts the crashes.
: > "$data/node-crashes.txt"
supervise_node() {
  local child=
  trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM
  while :; do
    SCRATCH=/dev/shm node bench/node-prototype/server.mjs "$node_port" "$fn" "${functions[@]}" >>"$work/node.log" 2>&1 &
    child=$!
    echo "$child" > "$work/node.pid"
    wait "$child" && status=0 || status=$?
    echo "exit status $status at $(date +%T)" >> "$data/node-crashes.txt"
    log "the Node prototype died (status $status); restarting it"
    sleep 0.2
  done
}
supervise_node &
pids+=("$!")
node_pid() { cat "$work/node.pid"; }
wait_http "$node_url/healthz" || { log "the Node prototype did not start: $(tail -3 "$work/node.log")"; exit 1; }

# ---- the container platform -------------------------------------------------------------
# Flags of ../shared/DESIGN.md: own data root, exec root and socket; no iptables, no bridge.
sock=unix://$work/docker.sock
dockerd --iptables=false --ip-masq=false --bridge=none --storage-driver=overlay2 \
  --data-root "$work/docker-data" --exec-root "$work/docker-exec" -H "$sock" \
  --pidfile "$work/docker.pid" >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 150); do "$DOCKER" -H "$sock" version >/dev/null 2>&1 && break; sleep 0.2; done
"$DOCKER" -H "$sock" version >/dev/null || { log "dockerd did not start: $(tail -3 "$work/dockerd.log")"; exit 1; }
# The image, FROM nothing: the static proxy, the static functions and their files.
root=$work/image-root
mkdir -p "$root/fn" "$root/dev" "$root/tmp"
cp "$tools/action_proxy" "$root/proxy"
for f in "${functions[@]}"; do
  cp "$tools/$f.static" "$root/fn/$f"
  mkdir -p "$root/fn/$f.files"; cp -r "$fn/$f/." "$root/fn/$f.files/"
done
tar -C "$root" -c . | "$DOCKER" -H "$sock" import - mote-bench-functions:1 >/dev/null
image_kib=$(( $(du -sk "$root" | cut -f1) ))
ctr_port=$(free_port); ctr_url=http://127.0.0.1:$ctr_port
DOCKER=$DOCKER node bench/paper/container-platform.mjs "$ctr_port" "$sock" mote-bench-functions:1 "${functions[@]}" \
  >"$work/containers.log" 2>&1 &
ctr_pid=$!; pids+=("$ctr_pid")
wait_http "$ctr_url/stats" || { log "the container driver did not start: $(tail -3 "$work/containers.log")"; exit 1; }
echo "{\"image_kib\":$image_kib,\"docker\":\"$("$DOCKER" -H "$sock" version -f '{{.Server.Version}}')\"}" > "$data/containers.json"

declare -A url_of=([containers]=$ctr_url [node]=$node_url [mote]=$mote_url)
platforms=(containers node mote)
available() { [ "$1" != mote ] || [ "${mote_ok[$2]}" = 1 ]; }

# ---- Table 2: execution time ------------------------------------------------------------
for f in "${functions[@]}"; do
  in=${body[$f]}; [ "$in" = - ] && in=/dev/null
  read -ra args <<<"$(echo "${query[$f]}" | sed -e 's/^?//' -e 's/arg=//g' -e 's/&/ /g')"
  log "native: $f"
  "$tools/$f.loop" "$loop_runs" "$fn/$f" "$in" "${args[@]}" > "$data/exec-$f-native-loop.txt"
  "$tools/spawn_time" "$loop_runs" "$fn/$f" "$in" "$fn/$f.native" "${args[@]}" > "$data/exec-$f-native-process.txt"
done
"$tools/spawn_time" "$loop_runs" / /dev/null /bin/true > "$data/exec-true-process.txt"

# ---- Tables 3 to 5: the access patterns ---------------------------------------------------
run_pattern() {  # PATTERN SEQ CLIENTS RAMP
  for f in "${functions[@]}"; do
    for p in "${platforms[@]}"; do
      available "$p" "$f" || continue
      [ "$p" = containers ] && curl -fs -X POST "$ctr_url/reset" >/dev/null
      log "$1: $f on $p"
      node bench/paper/loadgen.mjs "${url_of[$p]}/faas/$f${query[$f]}" "${body[$f]}" "$1" "$2" "$3" "$4" \
        > "$data/$1-$f-$p.csv"
    done
  done
}
run_pattern scma "$seq_calls" 0 0
run_pattern mcsa 0 "$clients" "$ramp"
run_pattern mcma "$mix_seq" "$mix_clients" "$mix_ramp"
curl -fs "$ctr_url/stats" > "$data/containers-stats.json"

# ---- throughput at saturation and memory per live instance ---------------------------------
pss_kib() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
rss_kib() { awk '/VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# The containers' memory: for each, its processes (the proxy, and the containerd shim that
# holds it) by PSS, and its cgroup's charge (page cache of its files included) when readable.
container_memory() {
  local ids total_pss=0 total_cg=0 n=0 pid shim cg
  ids=$("$DOCKER" -H "$sock" ps -q --no-trunc)
  for id in $ids; do
    pid=$("$DOCKER" -H "$sock" inspect -f '{{.State.Pid}}' "$id")
    shim=$(awk '{ print $4 }' "/proc/$pid/stat")
    total_pss=$(( total_pss + $(pss_kib "$pid") + $(pss_kib "$shim") ))
    cg=$(cat "/sys/fs/cgroup/memory/docker/$id/memory.usage_in_bytes" 2>/dev/null || echo 0)
    total_cg=$(( total_cg + cg / 1024 ))
    n=$((n + 1))
  done
  echo "$n $total_pss $total_cg"
}
wrk_script=$work/post.lua
. bench/lib.sh
bench_post_lua "$wrk_script"
idle_mote=$(rss_kib "$mote_pid"); idle_node=$(rss_kib "$(node_pid)")
echo -n > "$data/throughput.txt"
for f in "${functions[@]}"; do
  for p in "${platforms[@]}"; do
    available "$p" "$f" || continue
    log "throughput: $f on $p"
    u="${url_of[$p]}/faas/$f${query[$f]}"
    # A warm-up first. The container platform starts from an empty pool and cold-starts one
    # container per connection (8 calls at once), then all of wrk's calls find a warm one.
    if [ "$p" = containers ]; then
      curl -fs -X POST "$ctr_url/reset" >/dev/null
      warm=()
      for _ in $(seq 8); do
        if [ "${body[$f]}" = - ]; then curl -fs -o /dev/null "$u" & else curl -fs -o /dev/null --data-binary @"${body[$f]}" "$u" & fi
        warm+=("$!")
      done
      wait "${warm[@]}" || true
    fi
    # The Node prototype may be restarting after a crash: wait for it, and never stop the run
    # on a failed wrk (its figures then show what was completed).
    [ "$p" = node ] && wait_http "$node_url/healthz"
    WRK_BODY=${body[$f]} wrk -t2 -c8 -d2s -s "$wrk_script" "$u" >/dev/null || true
    WRK_BODY=${body[$f]} wrk -t2 -c8 -d"${wrk_s}s" -s "$wrk_script" "$u" > "$work/wrk.txt" &
    wrk_pid=$!
    sleep "$(awk -v d="$wrk_s" 'BEGIN { print d / 2 }')"
    case $p in
      mote) mem="1 $(( $(rss_kib "$mote_pid") - idle_mote )) 0" ;;
      node) mem="1 $(( $(rss_kib "$(node_pid)" || echo "$idle_node") - idle_node )) 0" ;;
      containers) mem=$(container_memory) ;;
    esac
    wait "$wrk_pid" || log "wrk failed against $p: $(tail -1 "$work/wrk.txt")"
    rps=$(awk '/Requests\/sec/ { printf "%.1f", $2 }' "$work/wrk.txt"); rps=${rps:-0}
    bad=$(awk '/Non-2xx/ { n = $5 } END { print n + 0 }' "$work/wrk.txt")
    echo "$f $p $rps $bad $mem" >> "$data/throughput.txt"
  done
done
echo "{\"idle_mote_kib\":$idle_mote,\"idle_node_kib\":$idle_node,\"mote_workers\":$(nproc),\"load_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" \
  > "$data/memory.json"

# ---- the report -------------------------------------------------------------------------
node bench/paper/report.mjs "$data" "$out/report.md"
for fig in scma mcsa mcma; do
  gnuplot -e "data='$data'; fig='$fig'; out='$out/figure-$fig.png'" bench/paper/figure.gp
done
log "wrote $out/report.md and $out/figure-{scma,mcsa,mcma}.png"
