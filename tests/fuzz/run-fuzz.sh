#!/usr/bin/env bash
# Runs a libFuzzer binary for a bounded time over a scratch corpus and prints
# one summary line. Exits non-zero if the fuzzer found a crash, a leak or a
# timeout (libFuzzer then leaves the input in the artifact directory).
# usage: run-fuzz.sh BIN CORPUS_DIR ARTIFACT_DIR SECONDS
set -u
bin=$1 corpus=$2 artifacts=$3 seconds=$4
log=$artifacts/$(basename "$bin").log
mkdir -p "$corpus" "$artifacts"
"$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
rc=$?
execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n1)
cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -n1)
if [ $rc -eq 0 ]; then
  echo "fuzz ($(basename "$bin")): ${execs:-0} executions in ${seconds}s, ${cov:-cov: ?}, 0 crashes"
  echo "fuzz: 1 passed, 0 failed"
else
  grep -aE 'ERROR|SUMMARY|Test unit written|runtime error' "$log" | head -n 20
  echo "fuzz ($(basename "$bin")): FAILED after ${execs:-?} executions; log: $log"
  echo "fuzz: 0 passed, 1 failed"
fi
exit $rc
