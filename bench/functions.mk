# The example functions against native, one agreed measure (bench/functions.sh). Included by
# the Makefile after bench/paper/paper.mk (uses FN_*, PAPER_LOOPS, PAPER_CFLAGS).
#
#   make bench-functions    bench/out/functions.txt
#
# Beside bench-paper's native loops (gcc -O2) it builds the same loops from objects compiled by
# clang-19 -O2 for x86-64 (the compiler that makes the wasm: mote / clang is the engine's share,
# clang / gcc the compilers'), empty.wasm, whose exec time is _start's cost around main, and
# invoke-loop (bench/invoke_loop.c), which runs a function through mote_invoke_run in a loop in
# one process, as the native loops run theirs: the engine without a server between calls.
# And the same loops again from objects of musl-gcc -O2 (musl-tools): musl is the C library
# wasi-libc is made from, so mote / musl runs the same C, the library's included, on both sides
# (lpr's time is mostly fgets and strncmp: glibc's are SIMD, musl's byte loops).

BFN_DIR     := $(BUILD)/bench-functions
BFN_CC      := $(FN_WASM_CC)
BFN_LOOPS   := $(foreach f,$(FN_NAMES),$(BFN_DIR)/$(f).clang.loop $(BFN_DIR)/$(f).musl.loop)
BFN_MUSL    := $(BFN_DIR)/musl
# stb's headers are in /usr/include: searched after musl's own, for what musl lacks.
BFN_MUSL_CC := musl-gcc -idirafter /usr/include

.PHONY: bench-functions bench-functions-tools
bench-functions-tools: functions $(BUILD)/mote $(PAPER_LOOPS) $(BFN_LOOPS) $(BFN_DIR)/empty.wasm \
                       $(BFN_DIR)/invoke-loop

bench-functions: bench-functions-tools
	bench/functions.sh $(BUILD)

$(BFN_DIR)/obj/common/stb_%.o: functions/common/stb_%.c
	@mkdir -p $(dir $@)
	$(BFN_CC) $(FN_STB_CFLAGS) -c $< -o $@
$(BFN_DIR)/obj/%.o: functions/%.c $(FN_HEADERS)
	@mkdir -p $(dir $@)
	$(BFN_CC) -std=gnu11 -O2 $(WARN) -c $< -o $@
$(BFN_DIR)/main-renamed/%.o: $(BFN_DIR)/obj/%.o
	@mkdir -p $(dir $@)
	objcopy --redefine-sym main=function_main $< $@

$(BFN_MUSL)/obj/common/stb_%.o: functions/common/stb_%.c
	@mkdir -p $(dir $@)
	$(BFN_MUSL_CC) $(FN_STB_CFLAGS) -c $< -o $@
$(BFN_MUSL)/obj/%.o: functions/%.c $(FN_HEADERS)
	@mkdir -p $(dir $@)
	$(BFN_MUSL_CC) $(FN_NATIVE_CFLAGS) -c $< -o $@
$(BFN_MUSL)/main-renamed/%.o: $(BFN_MUSL)/obj/%.o
	@mkdir -p $(dir $@)
	objcopy --redefine-sym main=function_main $< $@

define BFN_LINK
$(BFN_DIR)/$(1).musl.loop: bench/paper/native_loop.c $(BFN_MUSL)/main-renamed/$(firstword $(FN_SRC_$(1):%.c=%.o)) \
                           $(wordlist 2,99,$(FN_SRC_$(1):%.c=$(BFN_MUSL)/obj/%.o))
	@mkdir -p $$(dir $$@)
	$(BFN_MUSL_CC) $(PAPER_CFLAGS) $$^ -lm -o $$@
$(BFN_DIR)/$(1).clang.loop: bench/paper/native_loop.c $(BFN_DIR)/main-renamed/$(firstword $(FN_SRC_$(1):%.c=%.o)) \
                            $(wordlist 2,99,$(FN_SRC_$(1):%.c=$(BFN_DIR)/obj/%.o))
	@mkdir -p $$(dir $$@)
	$(CC) $(PAPER_CFLAGS) $$^ -lm -o $$@
endef
$(foreach f,$(FN_NAMES),$(eval $(call BFN_LINK,$(f))))
# Kept: make would delete the objects of main as intermediates of the renaming.
.SECONDARY: $(foreach f,$(FN_NAMES),$(BFN_DIR)/obj/$(firstword $(FN_SRC_$(f):%.c=%.o)) \
                                    $(BFN_MUSL)/obj/$(firstword $(FN_SRC_$(f):%.c=%.o)))

$(BFN_DIR)/empty.wasm: bench/programs/empty.c
	@mkdir -p $(dir $@)
	$(FN_WASM_CC) $(FN_WASM_CFLAGS) $(FN_WASM_LDFLAGS) $< -o $@

$(BFN_DIR)/invoke-loop: bench/invoke_loop.c $(BENCH_UTIL) $(BUILD)/libmote.a src/rt/exports.list
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) bench/invoke_loop.c bench/bench_util.c bench/bench_module.c \
	  $(BUILD)/libmote.a $(LDLIBS) -o $@
