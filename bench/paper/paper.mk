# The paper's benchmarks (bench/paper.sh): the native, container and Node baselines next to
# mote. Included by the Makefile after functions/functions.mk (uses FN_DIR, FN_NAMES, FN_SRC_*).
# Not part of `make test`: it needs the Docker engine and minutes of a quiet machine.
#
#   make bench-paper     the full run: bench/out/report.md and the plots
#   make bench-quick     the same, fewer calls and shorter ramps (under 5 minutes)

PAPER_DIR   := $(BUILD)/bench-paper
PAPER_CFLAGS := -std=gnu11 -O2 $(WARN) -D_GNU_SOURCE
# The container image holds static programs only (it is imported from a tar, FROM nothing).
PAPER_STATIC := $(foreach f,$(FN_NAMES),$(PAPER_DIR)/$(f).static)
# The in-program native floor: each function's main renamed and called in a loop.
PAPER_LOOPS  := $(foreach f,$(FN_NAMES),$(PAPER_DIR)/$(f).loop)
PAPER_TOOLS  := $(PAPER_DIR)/action_proxy $(PAPER_DIR)/spawn_time $(PAPER_STATIC) $(PAPER_LOOPS)

.PHONY: bench-paper bench-quick bench-paper-tools
bench-paper-tools: functions $(BUILD)/mote $(PAPER_TOOLS)

bench-paper: bench-paper-tools
	bench/paper.sh $(BUILD)

bench-quick: bench-paper-tools
	QUICK=1 bench/paper.sh $(BUILD)

$(PAPER_DIR)/action_proxy: bench/paper/action_proxy.c
	@mkdir -p $(dir $@)
	$(CC) $(PAPER_CFLAGS) -static $< -o $@

$(PAPER_DIR)/spawn_time: bench/paper/spawn_time.c
	@mkdir -p $(dir $@)
	$(CC) $(PAPER_CFLAGS) $< -o $@

$(PAPER_DIR)/main-renamed/%.o: $(FN_DIR)/obj/native/%.o
	@mkdir -p $(dir $@)
	objcopy --redefine-sym main=function_main $< $@

# The object holding main is the first source of each function (FN_SRC_*).
define PAPER_LINK
$(PAPER_DIR)/$(1).static: $(FN_SRC_$(1):%.c=$(FN_DIR)/obj/native/%.o)
	@mkdir -p $$(dir $$@)
	$(CC) -static $$^ -lm -o $$@
$(PAPER_DIR)/$(1).loop: bench/paper/native_loop.c $(PAPER_DIR)/main-renamed/$(firstword $(FN_SRC_$(1):%.c=%.o)) \
                        $(wordlist 2,99,$(FN_SRC_$(1):%.c=$(FN_DIR)/obj/native/%.o))
	@mkdir -p $$(dir $$@)
	$(CC) $(PAPER_CFLAGS) $$^ -lm -o $$@
endef
$(foreach f,$(FN_NAMES),$(eval $(call PAPER_LINK,$(f))))
