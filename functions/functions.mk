# The paper's example functions (functions/README.md), each built twice from the same C: a
# native program (gcc -O2) and a WASI command module (clang-19 --target=wasm32-wasi -O2).
# Included by the Makefile; uses BUILD and WARN. Everything lands in $(BUILD)/functions/:
#
#   <fn>.native, <fn>.wasm    the function
#   <fn>/                     its files directory (read-only at guest "/", the cwd natively)
#   images/                   resize's test photos (fetched) and big.jpg (generated)
#   recognize-samples/        Fashion-MNIST test images as PGM, with labels.txt
#   recognize-train.txt       the trainer's report: held-out accuracy and training time
#
#   make functions            build all of it (second run: nothing to do)
#   make functions-test       native vs mote vs Node, and the expected answers

FN_DIR      := $(BUILD)/functions
FN_NAMES    := lpr resize recognize
FASHION_MNIST_DIR ?= /usr/share/datasets/fashion-mnist

FN_NATIVE_CC     := gcc
FN_NATIVE_CFLAGS := -std=gnu11 -O2 $(WARN)
FN_WASM_CC       ?= clang-19
FN_WASM_CFLAGS   := --target=wasm32-wasi -std=gnu11 -O2 $(WARN)
# stb_image's JPEG decoder and the resizer keep sizeable frames: 1 MiB of shadow stack, placed
# first so that an overflow faults instead of overwriting data.
FN_WASM_LDFLAGS  := -Wl,-z,stack-size=1048576 -Wl,--stack-first
# stb's own sources (third-party, compiled as shipped) are not held to our warning set.
FN_STB_CFLAGS    := -std=gnu11 -O2 -w

# Sources of each function, relative to functions/.
FN_SRC_lpr       := lpr/lpr.c lpr/plate.c common/body.c
FN_SRC_resize    := resize/resize.c common/body.c common/heap.c common/stb_image_impl.c \
                    common/stb_image_resize_impl.c common/stb_image_write_impl.c
FN_SRC_recognize := recognize/recognize.c recognize/mlp.c common/body.c common/heap.c \
                    common/stb_image_impl.c common/stb_image_resize_impl.c
FN_HEADERS  := $(wildcard functions/*/*.h)

FN_BINARIES := $(foreach f,$(FN_NAMES),$(FN_DIR)/$(f).native $(FN_DIR)/$(f).wasm)
FN_FILES    := $(FN_DIR)/lpr/watchlist.txt $(FN_DIR)/resize/.dir $(FN_DIR)/recognize/weights.bin
FN_IMAGES   := $(FN_DIR)/images/china.jpg $(FN_DIR)/images/flower.jpg $(FN_DIR)/images/big.jpg
FN_SAMPLES  := $(FN_DIR)/recognize-samples/labels.txt

.PHONY: functions functions-test
functions: $(FN_BINARIES) $(FN_FILES) $(FN_IMAGES) $(FN_SAMPLES)

# Objects: native and wasm, ours with the project's warnings, stb's without.
$(FN_DIR)/obj/native/common/stb_%.o: functions/common/stb_%.c
	@mkdir -p $(dir $@)
	$(FN_NATIVE_CC) $(FN_STB_CFLAGS) -c $< -o $@
$(FN_DIR)/obj/wasm/common/stb_%.o: functions/common/stb_%.c
	@mkdir -p $(dir $@)
	$(FN_WASM_CC) --target=wasm32-wasi $(FN_STB_CFLAGS) -c $< -o $@
$(FN_DIR)/obj/native/%.o: functions/%.c $(FN_HEADERS)
	@mkdir -p $(dir $@)
	$(FN_NATIVE_CC) $(FN_NATIVE_CFLAGS) -c $< -o $@
$(FN_DIR)/obj/wasm/%.o: functions/%.c $(FN_HEADERS)
	@mkdir -p $(dir $@)
	$(FN_WASM_CC) $(FN_WASM_CFLAGS) -c $< -o $@

define FN_LINK
$(FN_DIR)/$(1).native: $(FN_SRC_$(1):%.c=$(FN_DIR)/obj/native/%.o)
	$(FN_NATIVE_CC) $$^ -lm -o $$@
$(FN_DIR)/$(1).wasm: $(FN_SRC_$(1):%.c=$(FN_DIR)/obj/wasm/%.o)
	$(FN_WASM_CC) --target=wasm32-wasi -O2 $(FN_WASM_LDFLAGS) $$^ -o $$@
endef
$(foreach f,$(FN_NAMES),$(eval $(call FN_LINK,$(f))))

# Build-time tools: native, never deployed.
$(FN_DIR)/tools/gen_watchlist: functions/lpr/gen_watchlist.c
	@mkdir -p $(dir $@)
	$(FN_NATIVE_CC) $(FN_NATIVE_CFLAGS) $< -o $@
$(FN_DIR)/tools/gen_image: functions/resize/gen_image.c $(FN_DIR)/obj/native/common/stb_image_write_impl.o
	@mkdir -p $(dir $@)
	$(FN_NATIVE_CC) $(FN_NATIVE_CFLAGS) $^ -o $@
$(FN_DIR)/tools/train: functions/recognize/train.c functions/recognize/mlp.c functions/recognize/mlp.h
	@mkdir -p $(dir $@)
	$(FN_NATIVE_CC) $(FN_NATIVE_CFLAGS) functions/recognize/train.c functions/recognize/mlp.c -lm -o $@

# lpr's watch list: 10,000 plates, the same every build.
$(FN_DIR)/lpr/watchlist.txt: $(FN_DIR)/tools/gen_watchlist
	@mkdir -p $(dir $@)
	$< 10000 > $@.tmp && mv $@.tmp $@

# resize reads nothing from its directory, but every function has one to deploy with.
$(FN_DIR)/resize/.dir:
	@mkdir -p $(dir $@)
	touch $@

# resize's test images: Debian's photos (downloaded once, cached) and a generated 4000x3000.
$(FN_DIR)/images/china.jpg $(FN_DIR)/images/flower.jpg &: functions/resize/fetch-images.sh
	functions/resize/fetch-images.sh $(FN_DIR)/images $(FN_DIR)/cache
	@touch $(FN_DIR)/images/china.jpg $(FN_DIR)/images/flower.jpg
$(FN_DIR)/images/big.jpg: $(FN_DIR)/tools/gen_image
	@mkdir -p $(dir $@)
	$< 4000 3000 > $@.tmp && mv $@.tmp $@

# recognize's network, trained from Debian's dataset-fashion-mnist (scripts/deps.sh).
FN_FASHION  := train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte
$(FN_DIR)/fashion-mnist/%: $(FASHION_MNIST_DIR)/%.gz
	@mkdir -p $(dir $@)
	gunzip -c $< > $@.tmp && mv $@.tmp $@
$(FASHION_MNIST_DIR)/%.gz:
	@echo "functions: $@ is missing: install dataset-fashion-mnist (./scripts/deps.sh)" >&2; exit 1

$(FN_DIR)/recognize/weights.bin $(FN_SAMPLES) &: $(FN_DIR)/tools/train $(FN_FASHION:%=$(FN_DIR)/fashion-mnist/%)
	@mkdir -p $(FN_DIR)/recognize $(FN_DIR)/recognize-samples
	$(FN_DIR)/tools/train $(FN_DIR)/fashion-mnist $(FN_DIR)/recognize/weights.bin.tmp \
	    $(FN_DIR)/recognize-samples | tee $(FN_DIR)/recognize-train.txt
	mv $(FN_DIR)/recognize/weights.bin.tmp $(FN_DIR)/recognize/weights.bin

# The tests' image decoder (tests/functions/image_size.c), with the functions' stb_image.
$(FN_DIR)/tools/image_size: tests/functions/image_size.c $(FN_DIR)/obj/native/common/stb_image_impl.o
	@mkdir -p $(dir $@)
	$(FN_NATIVE_CC) $(FN_NATIVE_CFLAGS) $^ -lm -o $@

functions-test: functions $(BUILD)/mote $(FN_DIR)/tools/image_size
	@tests/functions/functions.sh $(BUILD)
