# Shared by the cluster's tests and benchmarks (sourced, not run): etcd
# members, nodes of `mote serve --cluster` and HAProxy, all on loopback
# (nodes on 127.0.0.N, ports the kernel hands out or found free), with
# temporary data directories under $tmp; never the system's services.
# The sourcing script sets `build` and `test_name`, and sources
# tests/server/server_lib.sh first (check, req, jget, header, $tmp, $mote).
#
#   etcd_start N            N members (1 or 3): $etcd_urls, etcd_kill I, etcd_restart I
#   node_start NAME [ARGS]  a node on 127.0.0.(next): ${node_url[NAME]}, its operator's address
#                           (/metrics, the full /healthz) ${node_ops[NAME]}; node_kill, node_stop
#   wait_converged [NODES]  until every node has applied the cluster's current revision
#   wait_served FN V NODES  until each node serves version V of FN itself
#   haproxy_start           HAProxy before the live nodes, kept current by haproxy-sync
# Waits are for states, bounded (2 minutes unless said) only against a hang.

declare -A node_pid node_url node_ip node_ops
etcd_pids=()
etcd_urls=
etcd_cmds=()
next_ip=2
hap_pid=
sync_pid=
[ -n "${CLUSTER_IP_BASE:-}" ] && next_ip=$CLUSTER_IP_BASE

cluster_cleanup() {
  local p
  for p in "${node_pid[@]}" $hap_pid $sync_pid "${etcd_pids[@]}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null
  done
  for p in "${node_pid[@]}" $hap_pid $sync_pid "${etcd_pids[@]}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null
  done
}
trap 'cluster_cleanup; stop_server; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

# A port nothing listens on now (of 127.0.0.1): picked at random below the
# kernel's ephemeral range (whose ports outgoing connections hold without
# listening: a bind there can fail though nothing answers), checked.
free_port() {
  local p low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
  [ "${low:-0}" -gt 12000 ] 2>/dev/null || low=32768
  while :; do
    p=$((10000 + RANDOM % (low - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# etcd answers a range (any): 0, else 1.
etcd_answers() { # URL
  curl -sf --max-time 2 -X POST -d '{"key":"cHJvYmU="}' "$1/v3/kv/range" >/dev/null
}

# The store's revision now, from the first member that answers.
etcd_revision() {
  local u
  for u in ${etcd_urls//,/ }; do
    curl -sf --max-time 2 -X POST -d '{"key":"cHJvYmU="}' "$u/v3/kv/range" |
      jq -r '.header.revision' && return 0
  done
  return 1
}

# Starts N members (1 or 3) of a new etcd cluster on free ports.
etcd_start() { # N
  local n=$1 i cluster= cports=() pports=()
  for ((i = 0; i < n; i++)); do
    cports[i]=$(free_port)
    pports[i]=$(free_port)
    cluster+="${cluster:+,}m$i=http://127.0.0.1:${pports[i]}"
  done
  etcd_urls=
  for ((i = 0; i < n; i++)); do
    etcd_cmds[i]="etcd --name m$i --data-dir $tmp/etcd$i --listen-client-urls http://127.0.0.1:${cports[i]} --advertise-client-urls http://127.0.0.1:${cports[i]} --listen-peer-urls http://127.0.0.1:${pports[i]} --initial-advertise-peer-urls http://127.0.0.1:${pports[i]} --initial-cluster $cluster --initial-cluster-state new"
    etcd_urls+="${etcd_urls:+,}http://127.0.0.1:${cports[i]}"
  done
  for ((i = 0; i < n; i++)); do etcd_restart "$i"; done
  local until=$((SECONDS + 120)) u
  for u in ${etcd_urls//,/ }; do
    until etcd_answers "$u"; do
      [ $SECONDS -ge $until ] && { echo "etcd did not come up at $u" >&2; return 1; }
      sleep 0.05
    done
  done
}
etcd_restart() { # I: the member again, on its data directory
  ${etcd_cmds[$1]} >>"$tmp/etcd$1.log" 2>&1 &
  etcd_pids[$1]=$!
}
etcd_kill() { # I
  kill -9 "${etcd_pids[$1]}" 2>/dev/null
  wait "${etcd_pids[$1]}" 2>/dev/null
  etcd_pids[$1]=
}

# A node: mote serve --cluster on 127.0.0.N with a port of the kernel's
# choosing (its operator's address on the same IP, another such port) and
# its own data directory ($tmp/NAME), --dev, 2 workers; waits for its
# listening line and for its /healthz to say it has joined.
node_start() { # NAME [more mote serve args]
  local name=$1; shift
  local ip=${node_ip[$name]:-}
  if [ -z "$ip" ]; then
    ip="127.0.0.$next_ip"
    next_ip=$((next_ip + 1))
    node_ip[$name]=$ip
  fi
  : >"$tmp/node-$name.out"
  "$mote" serve --dev --listen "$ip:0" --metrics-listen "$ip:0" --data "$tmp/node-$name" \
    --workers 2 --cluster "$etcd_urls" \
    --node "$name" "$@" >"$tmp/node-$name.out" 2>>"$tmp/node-$name.err" &
  node_pid[$name]=$!
  local until=$((SECONDS + 120)) port=
  while [ $SECONDS -lt $until ]; do
    port=$(sed -nE "s|^mote: listening on http://$ip:([0-9]+) .*|\1|p" "$tmp/node-$name.out")
    [ -n "$port" ] && break
    kill -0 "${node_pid[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "node $name did not start: $(cat "$tmp/node-$name.err")" >&2; return 1; }
  node_url[$name]="http://$ip:$port"
  node_ops[$name]=$(sed -nE "s|^mote: listening on .*metrics (http://[0-9.]+:[0-9]+)/metrics.*|\1|p" \
    "$tmp/node-$name.out")
  until [ "$(curl -s --max-time 5 "${node_url[$name]}/healthz" |
               jq -r '.cluster + " " + .start' 2>/dev/null)" = "ok ready" ]; do
    [ $SECONDS -ge $until ] && { echo "node $name did not join" >&2; return 1; }
    sleep 0.05
  done
}
node_kill() { # NAME: kill -9
  kill -9 "${node_pid[$1]}" 2>/dev/null
  wait "${node_pid[$1]}" 2>/dev/null
  node_pid[$1]=
}
node_stop() { # NAME: SIGTERM, and wait for the exit
  kill -TERM "${node_pid[$1]}" 2>/dev/null
  wait "${node_pid[$1]}" 2>/dev/null
  node_pid[$1]=
}
live_nodes() { local n; for n in "${!node_pid[@]}"; do [ -n "${node_pid[$n]}" ] && echo "$n"; done | sort; }

# Until every given node (default: every live one) has applied the cluster's
# revision as of now (its operator's /healthz "revision").
wait_converged() { # [NODES...]
  local rev n until=$((SECONDS + 120)) nodes=("$@")
  [ ${#nodes[@]} -eq 0 ] && mapfile -t nodes < <(live_nodes)
  rev=$(etcd_revision) || { echo "  (etcd does not answer)" >&2; return 1; }
  for n in "${nodes[@]}"; do
    while :; do
      local have; have=$(curl -s --max-time 5 "${node_ops[$n]}/healthz" | jq -r '.revision // 0' 2>/dev/null)
      [ "${have:-0}" -ge "$rev" ] 2>/dev/null && break
      [ $SECONDS -ge $until ] && { echo "  (node $n stays at revision $have < $rev)" >&2; return 1; }
      sleep 0.02
    done
  done
}

# Until each node serves version V of FN itself (its record says so, not
# "not loaded"); the key $auth reads the record.
wait_served() { # FN VERSION NODES...
  local fn=$1 v=$2 n until=$((SECONDS + 120)); shift 2
  for n in "$@"; do
    while :; do
      local got; got=$(curl -s --max-time 5 ${auth:+-u "$auth"} "${node_url[$n]}/v1/functions/$fn" |
        jq -r 'if .tier != null and .tier != "not loaded" then .version else 0 end' 2>/dev/null)
      [ "$got" = "$v" ] && break
      [ $SECONDS -ge $until ] && { echo "  (node $n does not serve $fn v$v: $got)" >&2; return 1; }
      sleep 0.02
    done
  done
}

# req against one node: base set to its URL.
on() { # NODE METHOD PATH [curl args...]
  local base=${node_url[$1]}; shift
  req "$@"
}

# HAProxy before the live nodes (mote cluster haproxy-config), on a free port
# ($hap_url), kept current by mote cluster haproxy-sync. The tests add a
# statistics page of their own ($hap_stats, CSV) to read HAProxy's view.
haproxy_start() {
  local port sport; port=$(free_port); sport=$(free_port)
  hap_url="http://127.0.0.1:$port"
  hap_stats="http://127.0.0.1:$sport/stats;csv"
  "$mote" cluster haproxy-config --cluster "$etcd_urls" --bind "127.0.0.1:$port" \
    --socket "$tmp/haproxy.sock" --out "$tmp/haproxy.cfg" || return 1
  printf '\nfrontend stats\n    bind 127.0.0.1:%s\n    stats enable\n    stats uri /stats\n' \
    "$sport" >>"$tmp/haproxy.cfg"
  haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
  hap_pid=$!
  local until=$((SECONDS + 60))
  until [ -S "$tmp/haproxy.sock" ] && curl -s --max-time 2 -o /dev/null "$hap_url/healthz"; do
    [ $SECONDS -ge $until ] && { echo "haproxy did not start: $(cat "$tmp/haproxy.log")" >&2; return 1; }
    sleep 0.05
  done
  "$mote" cluster haproxy-sync --cluster "$etcd_urls" --socket "$tmp/haproxy.sock" \
    >>"$tmp/haproxy-sync.log" 2>&1 &
  sync_pid=$!
}

# HAProxy's view of the node at URL (http://IP:PORT): its status (UP, DOWN,
# MAINT, ...) and total sessions, "STATUS STOT"; nothing when it has no slot.
# Its slot (nK) is the one haproxy-config gave it (the nodes live then).
hap_server() { # URL
  local slot
  slot=$(awk -v a="${1#http://}" '$1 == "server" && $3 == a { print $2; exit }' "$tmp/haproxy.cfg")
  [ -n "$slot" ] || return 0
  curl -s --max-time 5 "$hap_stats" |
    awk -F, -v s="$slot" '$1 == "nodes" && $2 == s { print $18, $8; exit }'
}
