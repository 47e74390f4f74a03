# Fuzzing the parsers of untrusted bytes (libFuzzer, clang-19), included by
# the Makefile.
#
#   make fuzz        the module reader for FUZZ_TIME seconds (default 60)
#   make fuzz-long   the same for 30 minutes
#
# The sources are compiled directly with clang's fuzzer + ASan + UBSan, not
# taken from libmote.a (built by gcc without coverage). The corpus starts
# from the spec suite's binaries and grows in build/fuzz/corpus, a scratch
# directory; crashing inputs land in build/fuzz/.

FUZZ_CC    ?= clang-19
FUZZ_TIME  ?= 60
FUZZ_DIR   := build/fuzz
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
              -std=gnu11 $(WARN) -Isrc -D_GNU_SOURCE
FUZZ_MODULE_SRC := tests/fuzz/fuzz_module.c $(wildcard src/module/*.c)

$(FUZZ_DIR)/fuzz_module: $(FUZZ_MODULE_SRC) $(wildcard src/module/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_MODULE_SRC) -o $@

# Seeds: copied once; the fuzzer adds what it finds.
$(FUZZ_DIR)/corpus/.seeded:
	@mkdir -p $(dir $@)
	@cp $(SPEC_DIR)/core/*/*.wasm $(dir $@) 2>/dev/null || echo "fuzz: no seeds in $(SPEC_DIR)/core"
	@touch $@

.PHONY: fuzz-module
fuzz-module: $(FUZZ_DIR)/fuzz_module $(FUZZ_DIR)/corpus/.seeded
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR)/fuzz_module $(FUZZ_DIR)/corpus $(FUZZ_DIR) $(FUZZ_TIME)

fuzz: fuzz-module

fuzz-long:
	$(MAKE) fuzz FUZZ_TIME=1800
