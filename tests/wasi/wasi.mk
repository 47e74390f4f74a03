# WASI preview1 conformance against Node (tests/wasi/conformance.sh), the
# hostile corpus (tests/wasi/hostile.sh) and the official WASI test suite
# (tests/wasi/testsuite*.sh). Included by the Makefile; uses BUILD and SHARED.
# The guest programs are built here, never committed:
#
#   make wasi-conformance     every tests/wasi/programs/*.c under mote and Node
#   make wasi-hostile         tests/wasi/hostile/*: contained, with the documented error
#   make wasi-testsuite       the suite in $(WASI_TESTSUITE) under `mote run`
#   make wasi-testsuite-server  the same suite, each test a function of `mote serve`
#   WASI_TIER=quick           run on the tcc tier instead of gcc -O2

WASI_CC     ?= clang-19
WASI_CFLAGS ?= --target=wasm32-wasi -O2 -Wall -Werror
WASI_PROGS  := $(patsubst tests/wasi/programs/%.c,$(BUILD)/wasi/%.wasm,$(wildcard tests/wasi/programs/*.c))
WASI_HOSTILE := $(patsubst tests/wasi/hostile/%.c,$(BUILD)/wasi/hostile/%.wasm,$(wildcard tests/wasi/hostile/*.c)) \
                $(patsubst tests/wasi/hostile/%.wat,$(BUILD)/wasi/hostile/%.wasm,$(wildcard tests/wasi/hostile/*.wat))

WASI_TESTSUITE ?= $(SHARED)/wasi-testsuite

.PHONY: wasi-conformance wasi-hostile wasi-programs wasi-testsuite wasi-testsuite-server

$(BUILD)/wasi/%.wasm: tests/wasi/programs/%.c tests/wasi/programs/common.h
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) $< -o $@

# Guest stacks first, so that a shadow-stack overflow faults instead of
# overwriting data (docs: DESIGN.md, "wasm-ld puts the shadow stack ...").
$(BUILD)/wasi/hostile/%.wasm: tests/wasi/hostile/%.c tests/wasi/programs/common.h
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) -Itests/wasi/programs -Wl,--stack-first -Wl,-z,stack-size=65536 $< -o $@

$(BUILD)/wasi/hostile/%.wasm: tests/wasi/hostile/%.wat
	@mkdir -p $(dir $@)
	wat2wasm $< -o $@

wasi-programs: $(WASI_PROGS) $(WASI_HOSTILE)

wasi-conformance: $(BUILD)/mote $(WASI_PROGS)
	@WASI_TIER='$(or $(WASI_TIER),opt)' tests/wasi/conformance.sh $(BUILD)

wasi-hostile: $(BUILD)/mote $(WASI_HOSTILE) $(BUILD)/wasi/hello.wasm
	@WASI_TIER='$(or $(WASI_TIER),opt)' tests/wasi/hostile.sh $(BUILD)

wasi-testsuite: $(BUILD)/mote
	@WASI_TESTSUITE='$(WASI_TESTSUITE)' WASI_TIER='$(or $(WASI_TIER),opt)' tests/wasi/testsuite.sh $(BUILD)

wasi-testsuite-server: $(BUILD)/mote
	@WASI_TESTSUITE='$(WASI_TESTSUITE)' WASI_TIER='$(or $(WASI_TIER),opt)' tests/wasi/testsuite_server.sh $(BUILD)
