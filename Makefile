# mote: build, test, run. See README.md for the two commands that do everything.
#
#   make            build/mote
#   make test       unit tests, sanitizer tests, the spec suite, fuzz and differential runs,
#                   WASI against Node, the hostile corpus and the official WASI test suite
#                   (CLI and server), the OpenWhisk npm client's round trip
#   make spec       the Wasm 2.0 spec suite only
#   make san        the same binaries under AddressSanitizer + UBSan, in build-san/
#
# One code path, few options: SAN=1 selects the sanitizer build directory.

ifeq ($(origin CC),default)
CC        := gcc
endif
SAN       ?= 0
BUILD     := $(if $(filter 1,$(SAN)),build-san,build)
SHARED    ?= ../shared
SPEC_DIR  ?= $(SHARED)/spec/wasm-2.0

# Messages are built into fixed buffers on purpose: truncation is intended, not a bug.
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-format-truncation
CFLAGS_BASE := -std=gnu11 -g $(WARN) -Isrc -D_GNU_SOURCE -fno-strict-aliasing
ifeq ($(SAN),1)
CFLAGS_OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=address,undefined
else
CFLAGS_OPT := -O2
LDFLAGS_SAN :=
endif
CFLAGS    := $(CFLAGS_BASE) $(CFLAGS_OPT) $(EXTRA_CFLAGS)
# Compiled modules are shared objects that call the runtime's wasm_rt_* functions:
# the executable exports exactly those (src/rt/exports.list).
LDFLAGS   := $(LDFLAGS_SAN) -Wl,--dynamic-list=src/rt/exports.list
# libcurl: the HTTP client of the client verbs (mote deploy, invoke, ...).
CURL_CFLAGS := $(shell pkg-config --cflags libcurl)
CURL_LIBS   := $(shell pkg-config --libs libcurl)
CFLAGS    += $(CURL_CFLAGS)
LDLIBS    := -ltcc -lmicrohttpd -lsqlite3 -larchive -ljansson -lsodium $(CURL_LIBS) -lpthread -ldl -lm

LAYERS    := base module compile rt wasi invoke store core http openwhisk cluster server
LIB_SRC   := $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/abi_text.o $(BUILD)/gen/xl_prelude_text.o \
             $(BUILD)/gen/xl_lazy_libc_text.o $(BUILD)/gen/wasm_rt_text.o
CLI_SRC   := $(wildcard src/cli/*.c)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)

TEST_SRC  := $(wildcard tests/*/test_*.c)
TEST_BIN  := $(TEST_SRC:%.c=$(BUILD)/%)
# Tests of the mote command from the outside; they get the build directory.
# tests/openwhisk needs npm and runs in make test only (make openwhisk-test).
TEST_SCRIPTS := $(filter-out tests/openwhisk/%,$(wildcard tests/*/test_*.sh))
TEST_SUPPORT := $(BUILD)/tests/test.o

.DEFAULT_GOAL := all
BENCH_UTIL := bench/bench_util.c bench/bench_util.h bench/bench_module.c bench/bench_module.h
.PHONY: bench bench-lazy bench-hot bench-deploy bench-engine bench-instantiate bench-server bench-memprobe bench-restart bench-density bench-hostile
# Benchmarks print figures and write bench/out/; they are not tests. bench-paper (the paper's
# tables against native, containers and Node) is in bench/paper/paper.mk; bench-functions (the
# example functions' exec time against native, like for like) in bench/functions.mk.
bench: bench-deploy bench-engine bench-instantiate bench-server bench-density bench-functions bench-paper

bench-deploy: $(BUILD)/mote
	bench/deploy_time.sh $(BUILD)

bench-engine: $(BUILD)/mote
	bench/engine.sh $(BUILD)

bench-instantiate: $(BUILD)/bench-instantiate $(BUILD)/bench-images $(BUILD)/memprobe
	bench/instantiate.sh $(BUILD)

# What the ways of making a fresh memory image cost here, without the runtime.
bench-memprobe: $(BUILD)/memprobe
	$(BUILD)/memprobe --reads 20 1024 1 10 100

bench-server: $(BUILD)/mote
	bench/server.sh $(BUILD)
	bench/restart.sh $(BUILD)

# Hostile clients and functions (issue 14): idle connections held (threads, RSS, /healthz
# latency) and a normal function's success rate at 50 calls/s open loop beside 20 hostile
# calls. OLD=DIR: a build of main to alternate with (e.g. a worktree's build).
bench-hostile: $(BUILD)/mote
	ROUNDS=$${ROUNDS:-3} bench/hostile.sh $(BUILD) $(OLD)

# Restart-to-serving with 100 functions, without and with kept snapshots (also in bench-server).
bench-restart: $(BUILD)/mote
	bench/restart.sh $(BUILD)

$(BUILD)/bench-instantiate: bench/instantiate.c $(BENCH_UTIL) $(BUILD)/libmote.a src/rt/exports.list
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) bench/instantiate.c bench/bench_util.c bench/bench_module.c $(BUILD)/libmote.a $(LDLIBS) -o $@

$(BUILD)/bench-lazy-ready: bench/lazy_ready.c $(BENCH_UTIL) $(BUILD)/libmote.a src/rt/exports.list
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) bench/lazy_ready.c bench/bench_util.c $(BUILD)/libmote.a $(LDLIBS) -o $@

# The first answer of big modules, eager quick tier against lazy objects (bench/lazy.sh).
bench-lazy: $(BUILD)/mote $(BUILD)/bench-lazy-ready
	bench/lazy.sh $(BUILD)

# Long first runs on lazy objects, the hot tier off against on (bench/hot.sh).
bench-hot: $(BUILD)/mote
	bench/hot.sh $(BUILD)

$(BUILD)/bench-images: bench/images.c $(BENCH_UTIL) $(BUILD)/libmote.a src/rt/exports.list
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) bench/images.c bench/bench_util.c bench/bench_module.c $(BUILD)/libmote.a $(LDLIBS) -o $@

$(BUILD)/bench-density: bench/density.c $(BENCH_UTIL) $(BUILD)/libmote.a src/rt/exports.list
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) bench/density.c bench/bench_util.c bench/bench_module.c $(BUILD)/libmote.a $(LDLIBS) -o $@

# Memory per live instance (hello, counter, recognize) and instances alive at once.
bench-density: $(BUILD)/bench-density
	bench/density.sh $(BUILD)

$(BUILD)/memprobe: bench/memprobe.c $(BENCH_UTIL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) bench/memprobe.c bench/bench_util.c -lpthread -o $@

.PHONY: all test unit unit-san spec spec-baseline spec-quick spec-lazy fuzz fuzz-long diff diff-long san clean run
all: $(BUILD)/mote

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Headers whose text the binary carries: $(call embed_text,SYMBOL) writes $@ from $<.
define embed_text
@mkdir -p $(dir $@)
{ echo '/* Generated from $< by the Makefile. */'; \
  echo 'extern const char $(1)[];'; \
  echo 'const char $(1)[] ='; \
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/  "/' -e 's/$$/\\n"/' $<; echo ';'; } > $@
endef

# The glue of every compiled module includes src/rt/abi.h.
$(BUILD)/gen/abi_text.c: src/rt/abi.h
	$(call embed_text,mote_abi_header_text)

# Every C file the translator writes starts with src/compile/xl_prelude.h.
$(BUILD)/gen/xl_prelude_text.c: src/compile/xl_prelude.h
	$(call embed_text,mote_xl_prelude_text)

# A lazy batch's few declarations of libc (src/compile/lazy.c).
$(BUILD)/gen/xl_lazy_libc_text.c: src/compile/xl_lazy_libc.h
	$(call embed_text,mote_xl_lazy_libc_text)

# wasm-rt.h (Debian's wabt), the one the runtime is compiled against: a lazy
# batch carries its text instead of including it (src/compile/lazy.c).
WASM_RT_H ?= /usr/include/wasm-rt.h
$(BUILD)/gen/wasm_rt_text.c: $(WASM_RT_H)
	$(call embed_text,mote_wasm_rt_header_text)

$(BUILD)/gen/%_text.o: $(BUILD)/gen/%_text.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libmote.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/mote: $(CLI_OBJ) $(BUILD)/libmote.a src/rt/exports.list
	$(CC) $(LDFLAGS) $(CLI_OBJ) $(BUILD)/libmote.a $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT) $(BUILD)/libmote.a src/rt/exports.list
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(TEST_SUPPORT) $(BUILD)/libmote.a $(LDLIBS) -o $@

$(BUILD)/spec-runner: $(wildcard tests/spec/*.c) $(BUILD)/libmote.a src/rt/exports.list
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) $(wildcard tests/spec/*.c) $(BUILD)/libmote.a $(LDLIBS) -o $@

san:
	$(MAKE) SAN=1 all

# Unit tests of every layer; prints one summary line.
unit: $(TEST_BIN) $(BUILD)/mote
	@SPEC_DIR=$(abspath $(SPEC_DIR)) scripts/run-tests.sh $(BUILD) $(TEST_BIN) $(TEST_SCRIPTS)

unit-san:
	$(MAKE) SAN=1 unit

# The Wasm 2.0 spec suite on the optimised tier (gcc).
spec: $(BUILD)/spec-runner
	@$(BUILD)/spec-runner --cache $(BUILD)/cache --jobs 2 $(SPEC_DIR)

# The opt tier for the x86-64 baseline (SSE2), which hosts without x86-64-v2 get
# (src/compile/toolchain.h); `spec` runs it for this host's level.
spec-baseline: $(BUILD)/spec-runner
	@MOTE_ISA=baseline $(BUILD)/spec-runner --cache $(BUILD)/cache --jobs 2 $(SPEC_DIR)

# The same suite on the quick tier (tcc), which deploys use first.
spec-quick: $(BUILD)/spec-runner
	@$(BUILD)/spec-runner --cache $(BUILD)/cache --tier quick --jobs 2 $(SPEC_DIR)

# The same with every module a lazy object (functions compiled in process on
# their first call, src/compile/lazy.c), which the quick tier uses for big modules.
spec-lazy: $(BUILD)/spec-runner
	@MOTE_QUICK_LAZY=always $(BUILD)/spec-runner --cache $(BUILD)/cache --tier quick --jobs 2 $(SPEC_DIR)

test: unit unit-san spec spec-baseline spec-quick spec-lazy fuzz diff wasi-conformance wasi-hostile wasi-testsuite \
      wasi-testsuite-server functions-test openwhisk-test cluster-test

-include tests/fuzz/fuzz.mk
-include tests/diff/diff.mk
-include tests/wasi/wasi.mk
-include functions/functions.mk
-include tests/openwhisk/openwhisk.mk
-include tests/cluster/cluster.mk
-include bench/paper/paper.mk
-include bench/functions.mk

# The platform in the foreground: mote serve on 127.0.0.1:8080 (data in $(BUILD)/run-data)
# with bench/programs/hello.c deployed as "hello". The example functions come later.
run: $(BUILD)/mote functions
	@scripts/run.sh $(BUILD) 127.0.0.1:8080

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
