#!/usr/bin/env bash
# Bundles end to end: deploy .tar.gz / .zip / octet-stream bundles holding
# main.wasm and read-only files, read the files from the guest, refuse
# hostile archives with 400 while the previous version keeps serving.
# usage: test_bundle.sh BUILD_DIR
set -u
build=${1:-build}
test_name=bundle
. "$(dirname "$0")/server_lib.sh"

# ---- the function: reads, writes or lists a path of its bundle ----------------
cat >"$tmp/reader.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  const char *op = argc > 1 ? argv[1] : "cat", *path = argc > 2 ? argv[2] : "/weights.bin";
  if (!strcmp(op, "cat")) {
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "open %s: %s\n", path, strerror(errno)); return 1; }
    char buf[4096]; size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
  }
  if (!strcmp(op, "write")) {
    FILE *f = fopen(path, "w");
    if (!f) { fprintf(stderr, "write %s: %s\n", path, strerror(errno)); return 1; }
    fputs("written", f);
    fclose(f);
    printf("wrote %s\n", path);
    return 0;
  }
  fprintf(stderr, "unknown op %s\n", op);
  return 2;
}
C
clang-19 --target=wasm32-wasi -O2 "$tmp/reader.c" -o "$tmp/reader.wasm" || { echo "clang-19 failed"; exit 1; }

# A bundle's tree: main.wasm, weights.bin, a nested file.
mk_tree() { # DIR WEIGHTS-TEXT
  mkdir -p "$1/models"
  cp "$tmp/reader.wasm" "$1/main.wasm"
  printf '%s' "$2" >"$1/weights.bin"
  printf 'nested file\n' >"$1/models/config.txt"
}
mk_tree "$tmp/v1" "weights version one"
mk_tree "$tmp/v2" "weights version two"
tar czf "$tmp/v1.tgz" -C "$tmp/v1" .
(cd "$tmp/v2" && bsdtar --format zip -cf "$tmp/v2.zip" main.wasm weights.bin models)
# One top-level directory wrapping everything, as `tar czf x.tgz dir/` makes.
mkdir -p "$tmp/wrap" && cp -r "$tmp/v1" "$tmp/wrap/fn"
tar czf "$tmp/wrapped.tgz" -C "$tmp/wrap" fn/

put_bundle() { # NAME FILE CONTENT-TYPE
  req PUT "/v1/functions/$1" -H "Content-Type: $3" --data-binary "@$2"
}
call() { req GET "/faas/$1${2:+?$2}"; }

start_server
check "server starts" $? "$(cat "$tmp/out" "$tmp/err")"

# ---- deploys and reads ------------------------------------------------------------
put_bundle f "$tmp/v1.tgz" application/gzip
[ "$code" = 201 ] && [ "$(jget '.version, .files.count, .files.bytes')" = "1 2 31" ] \
  && [ "$(jget '.files.paths')" = "models/config.txt,weights.bin" ] && [ "$(jget '(.files_hash | length)')" = 64 ]
check "deploy .tar.gz: 201, the files in the version record" $? "$code $body"

call f "arg=cat&arg=/weights.bin"
[ "$code" = 200 ] && [ "$body" = "weights version one" ]
check "the guest reads /weights.bin" $? "$code $body"
call f "arg=cat&arg=weights.bin"
[ "$code" = 200 ] && [ "$body" = "weights version one" ]
check "the guest reads weights.bin (cwd is /)" $? "$code $body"
call f "arg=cat&arg=models/config.txt"
[ "$code" = 200 ] && [ "$body" = "nested file" ]
check "the guest reads a nested file" $? "$code $body"

req GET /v1/functions/f
[ "$code" = 200 ] && [ "$(jget '.files.count, .files.paths')" = "2 models/config.txt,weights.bin" ]
check "GET the function shows its files" $? "$code $body"

put_bundle z "$tmp/v2.zip" application/zip
[ "$code" = 201 ] && [ "$(jget '.files.count')" = 2 ]
check "deploy .zip: 201" $? "$code $body"
call z "arg=cat&arg=/weights.bin"
[ "$code" = 200 ] && [ "$body" = "weights version two" ]
check "the guest of a .zip bundle reads its file" $? "$code $body"

put_bundle w "$tmp/wrapped.tgz" application/x-gzip
call w "arg=cat&arg=/models/config.txt"
[ "$code" = 200 ] && [ "$body" = "nested file" ]
check "one top-level directory is stripped" $? "$code $body"

put_bundle o "$tmp/v2.zip" application/octet-stream; c1=$code
put_bundle o2 "$tmp/v1.tgz" application/octet-stream; c2=$code
req PUT /v1/functions/o3 -H 'Content-Type: application/octet-stream' --data-binary "@$tmp/reader.wasm"; c3=$code
call o "arg=cat&arg=weights.bin"; b1=$body
call o2 "arg=cat&arg=weights.bin"; b2=$body
[ "$c1 $c2 $c3" = "201 201 201" ] && [ "$b1|$b2" = "weights version two|weights version one" ]
check "application/octet-stream: zip, tar.gz and wasm told by their bytes" $? "$c1 $c2 $c3 $b1 $b2"
printf 'plain text' >"$tmp/text.bin"
put_bundle o4 "$tmp/text.bin" application/octet-stream
[ "$code" = 415 ] && [ "$(jget '.code')" = unsupported_media_type ]
check "application/octet-stream of something else: 415" $? "$code $body"

# ---- the files are read-only and the guest stays inside them ---------------------
files_root="$tmp/data/files/$(acurl -s "$base/v1/functions/f" | jq -r .files_hash)"
call f "arg=write&arg=/new.txt"
[ "$code" = 502 ] && [[ "$(jget '.stderr')" == *"Read-only file system"* ]] && [ ! -e "$files_root/new.txt" ]
check "a guest write to its files fails (read-only)" $? "$code $body"
call f "arg=write&arg=weights.bin"
[ "$code" = 502 ] && [ "$(cat "$files_root/weights.bin")" = "weights version one" ]
check "a guest cannot overwrite a bundle file" $? "$code $body"
for p in ../../mote.db /../../mote.db ../../blobs /../etc/passwd; do
  call f "arg=cat&arg=$p"
  [ "$code" = 502 ] && [[ "$(jget '.stderr')" == *"Capabilities insufficient"* ]]
  check "escape attempt $p fails" $? "$code $body"
done
# A symlink out placed in the stored tree behind the server's back: still contained.
chmod u+w "$files_root" && ln -s /etc/passwd "$files_root/abs" && ln -s ../../mote.db "$files_root/rel"
call f "arg=cat&arg=/abs"; c1=$code
call f "arg=cat&arg=rel"; c2=$code
[ "$c1 $c2" = "502 502" ]
check "symlinks out of the files directory do not resolve" $? "$c1 $c2 $body"
rm -f "$files_root/abs" "$files_root/rel"

# A plain module has no files, and no preopen.
deploy plain "$tmp/reader.wasm"
[ "$code" = 201 ] && [ "$(jget '.files.count')" = 0 ] && [ "$(jget '.files_hash')" = null ]
check "a plain module: no files" $? "$code $body"
call plain "arg=cat&arg=/weights.bin"
check "a plain module sees no directory" $([ "$code" = 502 ]; echo $?) "$code $body"

# ---- hostile bundles: 400 naming the entry; the old version keeps serving ---------
h="$tmp/hostile"; mkdir -p "$h"
mk_tree "$h/base" "x"
bsdtar -czf "$h/absolute.tgz" -P -s '|^weights.bin$|/etc/evil|' -C "$h/base" main.wasm weights.bin
bsdtar -czf "$h/dotdot.tgz" -s '|^weights.bin$|../evil|' -C "$h/base" main.wasm weights.bin
mk_tree "$h/sym" "x" && ln -s ../../../etc/passwd "$h/sym/link"
tar czf "$h/symlink.tgz" -C "$h/sym" .
mk_tree "$h/hard" "x" && ln "$h/hard/weights.bin" "$h/hard/again.bin"
tar czf "$h/hardlink.tgz" -C "$h/hard" .
mk_tree "$h/nomain" "x" && rm "$h/nomain/main.wasm"
tar czf "$h/nomain.tgz" -C "$h/nomain" .
mk_tree "$h/big" "x" && truncate -s $(( (64 << 20) + 1 )) "$h/big/big.bin"
tar czf "$h/big.tgz" -C "$h/big" .
mk_tree "$h/many" "x" && (cd "$h/many" && mkdir e && cd e && seq 1 10000 | xargs touch)
tar czf "$h/many.tgz" -C "$h/many" .
head -c 300 "$tmp/v1.tgz" >"$h/truncated.tgz"
head -c 4096 /dev/urandom >"$h/random.tgz"
# Bytes overwritten in the middle of the compressed stream.
cp "$tmp/v1.tgz" "$h/corrupt.tgz"
head -c 64 /dev/zero | dd of="$h/corrupt.tgz" bs=1 seek=$(( $(stat -c %s "$tmp/v1.tgz") / 2 )) conv=notrunc status=none
(cd "$h/sym" && bsdtar --format zip -cf "$h/symlink.zip" main.wasm link)
cases=(
  "absolute.tgz|bundle entry \"/etc/evil\": an absolute path"
  "dotdot.tgz|bundle entry \"../evil\": a \"..\" component"
  "symlink.tgz|bundle entry \"./link\": a symlink"
  "symlink.zip|bundle entry \"link\": a symlink"
  "hardlink.tgz|: a hard link"
  "nomain.tgz|no file main.wasm at the root of the bundle (found models/, weights.bin)"
  "big.tgz|bundle entry \"./big.bin\": larger than the limit of 67108864 bytes per file"
  "many.tgz|bundle: more than 10000 entries"
  "truncated.tgz|bundle: not a readable tar archive: truncated gzip input"
  "random.tgz|bundle: not a readable tar archive"
  "corrupt.tgz|bundle"
)
nfiles_before=$(ls "$tmp/data/files" | wc -l)
for c in "${cases[@]}"; do
  file=${c%%|*} want=${c#*|}
  ctype=application/gzip; [[ "$file" == *.zip ]] && ctype=application/zip
  put_bundle f "$h/$file" "$ctype"
  msg=$(jget '.error')
  [ "$code" = 400 ] && [ "$(jget '.code')" = bad_bundle ] && [[ "$msg" == *"$want"* ]]
  check "hostile $file: 400 \"$want\"" $? "$code $body"; [ -n "${SHOW:-}" ] && echo "$file: $code $body" >&2
done
call f "arg=cat&arg=/weights.bin"
[ "$code" = 200 ] && [ "$body" = "weights version one" ] && [ "$(header X-Mote-Version)" = 1 ]
check "after the refusals version 1 still serves its files" $? "$code $(header X-Mote-Version) $body"
# (tmp keeps the server's lock file, base/tmpdir.h)
[ "$(ls "$tmp/data/files" | wc -l)" = "$nfiles_before" ] && [ -z "$(ls "$tmp/data/tmp" | grep -v 'lock$')" ]
check "refused bundles wrote nothing" $? "$(ls "$tmp/data/files" "$tmp/data/tmp")"

# ---- redeploy replaces the files; a restart serves them again ----------------------
tar czf "$tmp/v2.tgz" -C "$tmp/v2" .
put_bundle f "$tmp/v2.tgz" application/gzip
call f "arg=cat&arg=/weights.bin"
[ "$code" = 200 ] && [ "$body" = "weights version two" ] && [ "$(header X-Mote-Version)" = 2 ]
check "redeploy replaces the files" $? "$code $body"
stop_server
start_server
call f "arg=cat&arg=weights.bin"
[ "$code" = 200 ] && [ "$body" = "weights version two" ]
check "after a restart the files are served again" $? "$code $body"

echo "tests/server/test_bundle.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
