# Fuzzing the parsers of untrusted bytes (libFuzzer, clang-19), included by
# the Makefile.
#
#   make fuzz        the module reader with the translator, the bundle reader and a CGI function's
#                    output parser, each for FUZZ_TIME
#                    seconds (default 60)
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
FUZZ_MODULE_SRC := tests/fuzz/fuzz_module.c $(wildcard src/module/*.c) \
                   $(wildcard src/compile/xl_*.c)

$(FUZZ_DIR)/fuzz_module: $(FUZZ_MODULE_SRC) $(wildcard src/module/*.h) $(wildcard src/compile/xl*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_MODULE_SRC) -o $@

# Seeds: copied once; the fuzzer adds what it finds.
$(FUZZ_DIR)/corpus/.seeded:
	@mkdir -p $(dir $@)
	@cp $(SPEC_DIR)/core/*/*.wasm $(dir $@) 2>/dev/null || echo "fuzz: no seeds in $(SPEC_DIR)/core"
	@for f in $(SPEC_DIR)/simd/*/*.wasm; do cp "$$f" $(dir $@)simd-$$(basename "$$f"); done 2>/dev/null || true
	@touch $@

.PHONY: fuzz-module
fuzz-module: $(FUZZ_DIR)/fuzz_module $(FUZZ_DIR)/corpus/.seeded
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR)/fuzz_module $(FUZZ_DIR)/corpus $(FUZZ_DIR) $(FUZZ_TIME)

# The bundle reader (libarchive underneath), with the reply helpers it uses.
FUZZ_BUNDLE_SRC := tests/fuzz/fuzz_bundle.c src/server/bundle.c src/server/reply.c

$(FUZZ_DIR)/fuzz_bundle: $(FUZZ_BUNDLE_SRC) src/server/server_internal.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_BUNDLE_SRC) -larchive -ljansson -lmicrohttpd -o $@

# Seeds: a small bundle as .tar.gz, .tar and .zip (made with bsdtar).
$(FUZZ_DIR)/bundle-corpus/.seeded:
	@mkdir -p $(dir $@) $(FUZZ_DIR)/bundle-seed/sub
	@printf '\0asm\1\0\0\0' >$(FUZZ_DIR)/bundle-seed/main.wasm
	@echo data >$(FUZZ_DIR)/bundle-seed/sub/file.txt
	@bsdtar -czf $(dir $@)seed.tgz -C $(FUZZ_DIR)/bundle-seed main.wasm sub
	@bsdtar -cf $(dir $@)seed.tar -C $(FUZZ_DIR)/bundle-seed main.wasm sub
	@bsdtar --format zip -cf $(dir $@)seed.zip -C $(FUZZ_DIR)/bundle-seed main.wasm sub
	@touch $@

.PHONY: fuzz-bundle
fuzz-bundle: $(FUZZ_DIR)/fuzz_bundle $(FUZZ_DIR)/bundle-corpus/.seeded
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR)/fuzz_bundle $(FUZZ_DIR)/bundle-corpus $(FUZZ_DIR) $(FUZZ_TIME)

# The output of a CGI function (bytes a guest wrote): the header block parser.
FUZZ_CGI_SRC := tests/fuzz/fuzz_cgi.c src/server/cgi_output.c src/server/header.c

$(FUZZ_DIR)/fuzz_cgi: $(FUZZ_CGI_SRC) src/server/server_internal.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_CGI_SRC) -o $@

$(FUZZ_DIR)/cgi-corpus/.seeded:
	@mkdir -p $(dir $@)
	@printf 'Content-Type: text/plain\n\nhello\n' >$(dir $@)seed-plain
	@printf 'Status: 404 Not Found\r\nLocation: /x\r\nX-A: b\r\nConnection: close\r\n\r\nbody' >$(dir $@)seed-crlf
	@printf 'X-N: a\0b\n\nx' >$(dir $@)seed-nul
	@touch $@

.PHONY: fuzz-cgi
fuzz-cgi: $(FUZZ_DIR)/fuzz_cgi $(FUZZ_DIR)/cgi-corpus/.seeded
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR)/fuzz_cgi $(FUZZ_DIR)/cgi-corpus $(FUZZ_DIR) $(FUZZ_TIME)

fuzz: fuzz-module fuzz-bundle fuzz-cgi

fuzz-long:
	$(MAKE) fuzz FUZZ_TIME=1800
