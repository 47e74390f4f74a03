# The differential check against V8 (tests/diff/run.sh): random modules from
# binaryen's translate-to-fuzz run in mote and in Node; results, logs and traps
# must agree. Included by the Makefile, which declares `diff` and `diff-long`.
#
#   make diff                        bounded run, part of `make test`
#   make diff-long                   long run (2000 modules, at most 30 min)
#   DIFF_SEED=N DIFF_COUNT=N         reproduce / resize a run
#   DIFF_TIER=quick                  use the tcc tier instead of gcc -O2

DIFF_SEED  ?=
DIFF_COUNT ?=
DIFF_TIER  ?= opt
DIFF_JOBS  ?= 2

$(BUILD)/diff-runner: tests/diff/diff_runner.c $(BUILD)/libmote.a src/rt/exports.list
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) tests/diff/diff_runner.c $(BUILD)/libmote.a $(LDLIBS) -o $@

diff: $(BUILD)/diff-runner
	@DIFF_SEED='$(DIFF_SEED)' DIFF_COUNT='$(or $(DIFF_COUNT),150)' DIFF_TIER='$(DIFF_TIER)' \
	  DIFF_JOBS='$(DIFF_JOBS)' tests/diff/run.sh $(BUILD)

diff-long: $(BUILD)/diff-runner
	@DIFF_SEED='$(or $(DIFF_SEED),$(shell date +%s))' DIFF_COUNT='$(or $(DIFF_COUNT),2000)' DIFF_TIER='$(DIFF_TIER)' \
	  DIFF_JOBS='$(DIFF_JOBS)' DIFF_MAX_SECONDS=1800 tests/diff/run.sh $(BUILD)
