#!/usr/bin/env bash
# Installs every Debian package that building, testing and the example functions need;
# with --bench, also what the benchmarks need (make bench: wrk, the Docker engine of the
# container baseline, gnuplot, python3, xz-utils), which the tests do not.
# Idempotent and non-interactive: does nothing when everything is already present.
set -euo pipefail

packages=(
  # build of mote itself
  gcc make pkg-config libjansson-dev libsodium-dev libsqlite3-dev libmicrohttpd-dev libarchive-dev
  # the HTTP client of mote deploy / invoke / ls / ...
  libcurl4-openssl-dev
  # compile pipeline: wasm -> C (wasm2c), C -> native (gcc for the optimised tier, tcc for the quick one)
  wabt tcc
  # lazy objects of the quick tier: functions compiled in process on their first call
  libtcc-dev
  # functions and test programs: C -> wasm32-wasi
  clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32
  # example functions: stb (image decode, resize, encode) and the dataset recognize trains on
  libstb-dev dataset-fashion-mnist
  # fuzzing and sanitizers (clang-19 libFuzzer and ASan/UBSan runtimes)
  libclang-rt-19-dev
  # differential tests against V8: random modules from binaryen, run by Node
  binaryen nodejs
  # tests: JSON inspection, an HTTP client for the server's end-to-end tests, zip bundles;
  # bsdtar for the bundle tests (zip archives, hostile tar entries)
  jq curl zip libarchive-tools
  # tests: pgrep (no process outlives mote run)
  procps
  # the cluster (mote serve --cluster): etcd holds its records, HAProxy goes in front. The
  # tests and make run-cluster start their own etcd members and HAProxy on loopback, on free
  # ports with temporary data: they never use (or collide with) a system service apt may start
  # (etcd's is on 127.0.0.1:2379 and 2380, below the ports the tests pick)
  etcd-server haproxy
)
if [ "${1:-}" = --bench ]; then
  # benchmarks (make bench): load generator, the container baseline (Docker engine), plots;
  # python3 picks free ports (server.sh, restart.sh, paper.sh) and reads coverage logs
  # (coverage.py); xz-utils unpacks the .tar.xz Debian sources of bench-engine's corpus;
  # time (/usr/bin/time) gives bench/lua_ab.sh its user CPU times; musl-tools (musl-gcc)
  # builds bench-engine's kernels natively against musl, the C library wasi-libc comes from
  packages+=(wrk docker.io gnuplot-nox python3 xz-utils time musl-tools)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# The OpenWhisk client tests (make openwhisk-test) install the npm `openwhisk` client with
# npm. Debian ships npm as a package of its own; a nodejs built elsewhere may bring its own
# npm (and conflict with Debian's), so the package is asked for only when npm is missing.
if ! command -v npm >/dev/null 2>&1 && [[ " ${missing[*]} " != *" npm "* ]]; then
  missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
