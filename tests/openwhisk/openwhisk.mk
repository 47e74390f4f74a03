# OpenWhisk's npm client against a real `mote serve` (tests/openwhisk/test_openwhisk.sh).
# Included by the Makefile; uses BUILD. The test actions are built here, never committed.
#
#   make openwhisk-test    npm ci when needed (tests/openwhisk/node_modules), then the round trip

OW_WASM_CC     ?= clang-19
OW_WASM_CFLAGS := --target=wasm32-wasi -O2 -Wall -Werror
OW_ACTIONS     := $(patsubst tests/openwhisk/actions/%.c,$(BUILD)/openwhisk/%.wasm,$(wildcard tests/openwhisk/actions/*.c))

.PHONY: openwhisk-test

$(BUILD)/openwhisk/%.wasm: tests/openwhisk/actions/%.c tests/server/programs/gate.h
	@mkdir -p $(dir $@)
	$(OW_WASM_CC) $(OW_WASM_CFLAGS) -Wl,--strip-all $< -o $@

openwhisk-test: $(BUILD)/mote $(OW_ACTIONS)
	@tests/openwhisk/test_openwhisk.sh $(BUILD)
