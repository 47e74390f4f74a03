#!/usr/bin/env bash
# Tests of the example functions (functions/): every case runs the native program (in its files
# directory, as its cwd) and the wasm module under `mote run --dir FILES:/:ro`; stdout must be
# byte-identical and the exit status the same, and then the answer must be the expected one.
# Each function also runs once under Node's node:wasi (tests/functions/run-node.mjs), recognize
# with its initializer and with an imitation of mote's snapshot.
#
#   tests/functions/functions.sh BUILD_DIR        (make functions-test, after make functions)
#
# Environment: MOTE (default BUILD_DIR/mote), NODE (default node), FN_TIER (opt|quick|auto,
# default opt), MOTE_CACHE (default BUILD_DIR/functions/mote-cache). Every run is under
# `timeout` (120 s). The last line is "functions: N passed, N failed".
set -u
BUILD=${1:?usage: functions.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
fn=$(cd "$BUILD/functions" && pwd) || exit 1
MOTE=${MOTE:-$BUILD/mote}
case $MOTE in /*) ;; *) MOTE=$PWD/$MOTE ;; esac
NODE=${NODE:-node}
TIER=${FN_TIER:-opt}
export MOTE_CACHE=${MOTE_CACHE:-$fn/mote-cache}
mkdir -p "$MOTE_CACHE"
tmp=$(mktemp -d /tmp/mote-functions-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0

pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# run CASE FUNCTION STDIN_FILE [ARGS...]: native and mote, compared. Leaves the answer in
# $tmp/CASE.out (stdout), $tmp/CASE.err (mote's stderr) and the status in $status; returns 1
# (after a FAIL line) when the two differ.
run() {
  local name=$1 f=$2 input=$3; shift 3
  local native_status mote_status
  (cd "$fn/$f" && timeout 120 "$fn/$f.native" "$@") < "$input" > "$tmp/$name.native" 2> "$tmp/$name.native.err"
  native_status=$?
  timeout 120 "$MOTE" run --tier "$TIER" --dir "$fn/$f:/:ro" "$fn/$f.wasm" "$@" \
    < "$input" > "$tmp/$name.out" 2> "$tmp/$name.err"
  mote_status=$?
  status=$mote_status
  if [ "$native_status" != "$mote_status" ]; then
    fail "$name" "exit status native $native_status, mote $mote_status ($(head -c 300 "$tmp/$name.err"))"
    return 1
  fi
  if ! cmp -s "$tmp/$name.native" "$tmp/$name.out"; then
    fail "$name" "stdout differs between native and mote ($(wc -c < "$tmp/$name.native") vs $(wc -c < "$tmp/$name.out") bytes)"
    return 1
  fi
  return 0
}

# expect_json CASE JQ_FILTER: the answer is one JSON object for which the filter is true.
expect_json() {
  if [ "$status" != 0 ]; then
    fail "$1" "exit status $status, expected 0 ($(head -c 300 "$tmp/$1.err"))"
  elif jq -e "$2" "$tmp/$1.out" > /dev/null 2>&1; then
    pass "$1"
  else
    fail "$1" "answer $(head -c 300 "$tmp/$1.out") does not satisfy $2"
  fi
}

# expect_error CASE STATUS PATTERN: refused with that status, a message matching PATTERN on
# stderr and nothing on stdout.
expect_error() {
  if [ "$status" != "$2" ]; then
    fail "$1" "exit status $status, expected $2"
  elif [ -s "$tmp/$1.out" ]; then
    fail "$1" "an error must not answer on stdout: $(head -c 200 "$tmp/$1.out")"
  elif ! grep -q -- "$3" "$tmp/$1.err"; then
    fail "$1" "stderr '$(head -c 300 "$tmp/$1.err")' does not say '$3'"
  else
    pass "$1"
  fi
}

none=/dev/null

# ---- lpr -------------------------------------------------------------------------------
list=$fn/lpr/watchlist.txt
lines=$(wc -l < "$list")
if [ "$lines" -ge 9000 ] && [ "$lines" -le 11000 ]; then pass "lpr watch list has $lines plates"
else fail "lpr watch list" "$lines lines, expected about 10000"; fi
first=$(sed -n 1p "$list"); last=$(sed -n "${lines}p" "$list")
unlisted=QQ9999Q
if grep -q "^$unlisted " "$list"; then fail "lpr unlisted plate" "$unlisted is on the list"; fi

p=${first%% *}; reason=${first#* }
run lpr-listed-first lpr $none "$p" &&
  expect_json lpr-listed-first ".plate == \"$p\" and .listed == true and .reason == \"$reason\""
p=${last%% *}
printf '%s\n' "$p" | tr 'A-Z' 'a-z' > "$tmp/lower-plate"
run lpr-listed-last-body-lowercase lpr "$tmp/lower-plate" &&
  expect_json lpr-listed-last-body-lowercase ".plate == \"$p\" and .listed == true"
run lpr-unlisted lpr $none $unlisted &&
  expect_json lpr-unlisted ".plate == \"$unlisted\" and .listed == false and (has(\"reason\") | not)"
run lpr-bad-char lpr $none 'AB#123' && expect_error lpr-bad-char 1 "character '#' at position 3"
run lpr-too-long lpr $none ABCDEFGHJ && expect_error lpr-too-long 1 "2 to 8 characters"
run lpr-empty-body lpr $none && expect_error lpr-empty-body 1 "this one has 0"
run lpr-two-args lpr $none ABC123 DEF456 && expect_error lpr-two-args 1 "one plate"

# ---- resize ----------------------------------------------------------------------------
size() { "$fn/tools/image_size" "$1" 2>&1; }
for img in china flower big; do
  read -r _ w h _ < <(size "$fn/images/$img.jpg")
  for pct in 50 200; do
    name=resize-$img-$pct
    if run "$name" resize "$fn/images/$img.jpg" $pct; then
      want="jpeg $(( (w * pct + 50) / 100 )) $(( (h * pct + 50) / 100 )) 3"
      got=$(size "$tmp/$name.out")
      if [ "$status" = 0 ] && [ "$got" = "$want" ]; then pass "$name ($got)"
      else fail "$name" "status $status, output '$got', expected '$want'"; fi
    fi
  done
done
run resize-1-percent resize "$fn/images/china.jpg" 1 &&
  { got=$(size "$tmp/resize-1-percent.out"); [ "$got" = "jpeg 6 4 3" ] && pass "resize-1-percent ($got)" ||
    fail resize-1-percent "output '$got', expected 'jpeg 6 4 3'"; }
head -c 5000 "$fn/images/china.jpg" > "$tmp/truncated.jpg"
printf 'not an image at all\n' > "$tmp/text"
run resize-not-image resize "$tmp/text" 50 && expect_error resize-not-image 1 "not an image"
run resize-truncated resize "$tmp/truncated.jpg" 50 && expect_error resize-truncated 1 "cannot decode"
run resize-no-percent resize "$fn/images/china.jpg" && expect_error resize-no-percent 1 "percentage"
run resize-percent-0 resize "$fn/images/china.jpg" 0 && expect_error resize-percent-0 1 "from 1 to 400"
run resize-percent-junk resize "$fn/images/china.jpg" 50x && expect_error resize-percent-junk 1 "percentage"
run resize-too-large resize "$fn/images/big.jpg" 400 && expect_error resize-too-large 2 "refused"

# ---- recognize ---------------------------------------------------------------------------
samples=$fn/recognize-samples
right=0; total=0; same_as_trainer=0
while read -r file label trainer; do
  name=recognize-${file%.pgm}
  run "$name" recognize "$samples/$file" || continue
  total=$((total + 1))
  index=$(jq -r '.index' "$tmp/$name.out" 2>/dev/null)
  if [ "$status" = 0 ] && jq -e '(.class | type == "string") and .confidence > 0 and .confidence <= 1' \
       "$tmp/$name.out" > /dev/null 2>&1; then
    [ "$index" = "$label" ] && right=$((right + 1))
    [ "$index" = "$trainer" ] && same_as_trainer=$((same_as_trainer + 1))
  fi
done < "$samples/labels.txt"
if [ "$total" -ge 10 ] && [ "$right" -ge 8 ]; then pass "recognize: $right of $total test images classified as their labels"
else fail recognize-samples "$right of $total test images classified as their labels (need 8 of 10)"; fi
if [ "$total" -ge 10 ] && [ "$same_as_trainer" = "$total" ]; then pass "recognize: all $total answers equal the trainer's predictions"
else fail recognize-trainer "$same_as_trainer of $total answers equal the trainer's predictions"; fi
# Any size and format: a JPEG of a sample at 300% (84x84) and real photos; classified alike
# natively and under mote, with well-formed answers.
(cd "$fn/resize" && "$fn/resize.native" 300 < "$samples/sample-0.pgm" > "$tmp/sample-0-big.jpg")
for input in "$tmp/sample-0-big.jpg" "$fn/images/china.jpg" "$fn/images/big.jpg"; do
  name=recognize-$(basename "$input" .jpg)
  run "$name" recognize "$input" &&
    expect_json "$name" '(.index | type == "number") and .index >= 0 and .index < 10 and .confidence > 0'
done
run recognize-not-image recognize "$tmp/text" && expect_error recognize-not-image 1 "not an image"
run recognize-empty recognize $none && expect_error recognize-empty 1 "body is empty"
run recognize-truncated recognize "$tmp/truncated.jpg" && expect_error recognize-truncated 1 "cannot decode"

# ---- Node's node:wasi --------------------------------------------------------------------
# node_run CASE FUNCTION STDIN [--snapshot] [ARGS...]: the answer equals the native one in
# $tmp/CASE.native.
node_run() {
  local name=$1 f=$2 input=$3 ref=$1; shift 3
  local mode=()
  if [ "${1:-}" = --snapshot ]; then mode=(--snapshot); shift; fi
  timeout 120 "$NODE" "$here/run-node.mjs" "${mode[@]}" "$fn/$f" "$fn/$f.wasm" "$@" \
    < "$input" > "$tmp/$name.node" 2> "$tmp/$name.node.err"
  local s=$?
  if [ "$s" = 0 ] && cmp -s "$tmp/$ref.native" "$tmp/$name.node"; then pass "$name under node${mode:+ ${mode[*]}}"
  else fail "$name under node${mode:+ ${mode[*]}}" "status $s, stdout $(head -c 200 "$tmp/$name.node") $(head -c 300 "$tmp/$name.node.err")"; fi
}
node_run lpr-unlisted lpr $none $unlisted
node_run resize-china-50 resize "$fn/images/china.jpg" 50
node_run recognize-sample-0 recognize "$samples/sample-0.pgm"
cp "$tmp/recognize-sample-0.native" "$tmp/recognize-snapshot.native"
node_run recognize-snapshot recognize "$samples/sample-0.pgm" --snapshot

echo "functions: $passed passed, $failed failed"
[ "$failed" = 0 ]
