# Fuzzing the parsers of untrusted bytes (libFuzzer, clang-19), included by
# the Makefile.
#
#   make fuzz        the module reader with the translator, a lazy object's batches
#                    compiled by libtcc in process, the bundle reader, a CGI
#                    function's output parser, the query and Basic credential parsers,
#                    OpenWhisk's web action input and output and action PUT body, and what a cluster node
#                    reads from etcd, each for FUZZ_TIME seconds (default 30)
#   make fuzz-long   the same for 30 minutes each
#
# The sources are compiled directly with clang's fuzzer + ASan + UBSan, not
# taken from libmote.a (built by gcc without coverage); the cluster target takes
# from it only what its parsers call. The corpus starts
# from the spec suite's binaries and grows in build/fuzz/corpus, a scratch
# directory; crashing inputs land in build/fuzz/.

FUZZ_CC    ?= clang-19
FUZZ_TIME  ?= 30
FUZZ_DIR   := build/fuzz
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
              -std=gnu11 $(WARN) -Isrc -D_GNU_SOURCE
FUZZ_MODULE_SRC := tests/fuzz/fuzz_module.c $(wildcard src/module/*.c) \
                   $(wildcard src/compile/xl_*.c)

$(FUZZ_DIR)/fuzz_module: $(FUZZ_MODULE_SRC) $(wildcard src/module/*.h) $(wildcard src/compile/xl*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_MODULE_SRC) -o $@

# Seeds: copied once; the fuzzer adds what it finds.
$(FUZZ_DIR)/corpus/.seeded: tests/fuzz/guarded_trunc.wat tests/fuzz/br_table_dispatch.wat \
                             tests/fuzz/fast_loops.wat
	@mkdir -p $(dir $@)
	@cp $(SPEC_DIR)/core/*/*.wasm $(dir $@) 2>/dev/null || echo "fuzz: no seeds in $(SPEC_DIR)/core"
	@for f in $(SPEC_DIR)/simd/*/*.wasm; do cp "$$f" $(dir $@)simd-$$(basename "$$f"); done 2>/dev/null || true
	@wat2wasm tests/fuzz/guarded_trunc.wat -o $(dir $@)guarded-trunc.wasm
	@wat2wasm tests/fuzz/br_table_dispatch.wat -o $(dir $@)br-table-dispatch.wasm
	@wat2wasm tests/fuzz/fast_loops.wat -o $(dir $@)fast-loops.wasm
	@touch $@

.PHONY: fuzz-module
fuzz-module: $(FUZZ_DIR)/fuzz_module $(FUZZ_DIR)/corpus/.seeded
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR)/fuzz_module $(FUZZ_DIR)/corpus $(FUZZ_DIR) $(FUZZ_TIME)

# What a lazy object hands libtcc inside the process (src/compile/lazy.h):
# a valid module's batches as lazy_batch.c writes them, compiled and
# relocated by its lz_compile_batch (never run). The texts a batch's header is
# made of are the build's generated ones. Seeds: the spec suite's modules
# (the module target's corpus) and extreme shapes (tests/fuzz/lazy_shapes.py).
# The runtime's functions a batch calls (src/rt/exports.list) are exported
# stand-ins, never called, for tcc to bind as it binds the executable's
# (lazy_runtime.c finds them with dlsym).
FUZZ_TCC_GEN := $(BUILD)/gen/abi_text.c $(BUILD)/gen/xl_prelude_text.c \
                $(BUILD)/gen/xl_lazy_libc_text.c $(BUILD)/gen/wasm_rt_text.c
FUZZ_TCC_SRC := tests/fuzz/fuzz_tcc.c src/compile/lazy_batch.c src/compile/lazy_header.c \
                src/compile/lazy_runtime.c src/base/map.c src/base/alloc.c $(wildcard src/module/*.c) \
                $(wildcard src/compile/xl_*.c)

$(FUZZ_DIR)/fuzz_tcc: $(FUZZ_TCC_SRC) $(FUZZ_TCC_GEN) $(FUZZ_DIR)/tcc_rt_stand_ins.c $(wildcard src/module/*.h) \
                      $(wildcard src/compile/xl*.h) src/compile/lazy_internal.h src/compile/lazy.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_TCC_SRC) $(FUZZ_TCC_GEN) $(FUZZ_DIR)/tcc_rt_stand_ins.c \
	  -Wl,--dynamic-list=src/rt/exports.list -ltcc -lpthread -o $@

$(FUZZ_DIR)/tcc_rt_stand_ins.c: src/rt/exports.list
	@mkdir -p $(dir $@)
	@{ echo '/* Generated from $< by tests/fuzz/fuzz.mk: never called. */'; \
	  sed -n 's/^  \([a-z_]*\);$$/void \1(void);\nvoid \1(void) {}/p' $<; } >$@

$(FUZZ_DIR)/tcc-corpus/.seeded: tests/fuzz/lazy_shapes.py tests/fuzz/guarded_trunc.wat \
                                 tests/fuzz/br_table_dispatch.wat tests/fuzz/fast_loops.wat
	@mkdir -p $(dir $@)
	@cp $(SPEC_DIR)/core/*/*.wasm $(dir $@) 2>/dev/null || echo "fuzz: no seeds in $(SPEC_DIR)/core"
	@for f in $(SPEC_DIR)/simd/*/*.wasm; do cp "$$f" $(dir $@)simd-$$(basename "$$f"); done 2>/dev/null || true
	@python3 tests/fuzz/lazy_shapes.py --seeds $(dir $@)
	@wat2wasm tests/fuzz/guarded_trunc.wat -o $(dir $@)guarded-trunc.wasm
	@wat2wasm tests/fuzz/br_table_dispatch.wat -o $(dir $@)br-table-dispatch.wasm
	@wat2wasm tests/fuzz/fast_loops.wat -o $(dir $@)fast-loops.wasm
	@touch $@

.PHONY: fuzz-tcc
fuzz-tcc: $(FUZZ_DIR)/fuzz_tcc $(FUZZ_DIR)/tcc-corpus/.seeded
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR)/fuzz_tcc $(FUZZ_DIR)/tcc-corpus $(FUZZ_DIR) $(FUZZ_TIME)

# The bundle reader (libarchive underneath), with the reply helpers it uses.
FUZZ_BUNDLE_SRC := tests/fuzz/fuzz_bundle.c src/core/bundle.c src/base/utf8.c

$(FUZZ_DIR)/fuzz_bundle: $(FUZZ_BUNDLE_SRC) src/core/core.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_BUNDLE_SRC) -larchive -o $@

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
FUZZ_CGI_SRC := tests/fuzz/fuzz_cgi.c src/http/cgi_output.c src/http/header.c

$(FUZZ_DIR)/fuzz_cgi: $(FUZZ_CGI_SRC) src/http/http_internal.h
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

# The query string of any request (and a web action's form body), and the
# path of a request target (the same bytes through http_path_decode).
FUZZ_QUERY_SRC := tests/fuzz/fuzz_query.c src/http/query.c src/base/utf8.c

$(FUZZ_DIR)/fuzz_query: $(FUZZ_QUERY_SRC) src/http/http_internal.h src/http/http.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_QUERY_SRC) -o $@

$(FUZZ_DIR)/query-corpus/.seeded:
	@mkdir -p $(dir $@)
	@printf 'arg=a&arg=b+c&env=K%%3DV&x' >$(dir $@)seed-args
	@printf '%%zz&%%00&a==b&&=' >$(dir $@)seed-bad
	@printf '/faas/ns/f%%C3%%A9%%00x/%%ff?a=1' >$(dir $@)seed-path
	@touch $@

.PHONY: fuzz-query
fuzz-query: $(FUZZ_DIR)/fuzz_query $(FUZZ_DIR)/query-corpus/.seeded
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR)/fuzz_query $(FUZZ_DIR)/query-corpus $(FUZZ_DIR) $(FUZZ_TIME)

# The Authorization header (Basic base64(uuid:key)).
FUZZ_BASIC_SRC := tests/fuzz/fuzz_basic_auth.c src/http/basic_auth.c

$(FUZZ_DIR)/fuzz_basic_auth: $(FUZZ_BASIC_SRC) src/http/http_internal.h src/http/http.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_BASIC_SRC) -lsodium -o $@

$(FUZZ_DIR)/basic-corpus/.seeded:
	@mkdir -p $(dir $@)
	@printf 'Basic %s' "$$(printf '23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZ' | base64 -w0)" >$(dir $@)seed-dev
	@printf '  bAsIc	dTpr=  ' >$(dir $@)seed-odd
	@touch $@

.PHONY: fuzz-basic-auth
fuzz-basic-auth: $(FUZZ_DIR)/fuzz_basic_auth $(FUZZ_DIR)/basic-corpus/.seeded
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR)/fuzz_basic_auth $(FUZZ_DIR)/basic-corpus $(FUZZ_DIR) $(FUZZ_TIME)

# A web action: the client's request made into its input, and the guest's
# result made into the response.
FUZZ_WEB_SRC := tests/fuzz/fuzz_web_input.c src/openwhisk/ow_web.c src/http/query.c \
                src/http/json.c src/http/header.c src/base/utf8.c

$(FUZZ_DIR)/fuzz_web_input: $(FUZZ_WEB_SRC) src/openwhisk/openwhisk.h src/http/http.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_WEB_SRC) -ljansson -lsodium -o $@

$(FUZZ_DIR)/web-corpus/.seeded:
	@mkdir -p $(dir $@)
	@printf 'POST\0application/json\0/a/b\0x=1&y=2\0Accept\001*/*\002X-A\001b\0{"statusCode":201,"headers":{"X-B":"c"},"body":"aGk="}\0{"p":1}' >$(dir $@)seed-json
	@printf 'PUT\0application/x-www-form-urlencoded\0\0\0\0{"body":"<b>hi</b>"}\0a=1&b=%%20' >$(dir $@)seed-form
	@printf 'GET\0image/png\0/\0__ow_method=x\0\0{"text":"t","headers":{"Bad Name":"v"}}\0\211PNG' >$(dir $@)seed-binary
	@printf 'GET\0\0\0\0\0{"statusCode":1e300}\0' >$(dir $@)seed-status-range
	@touch $@

.PHONY: fuzz-web-input
fuzz-web-input: $(FUZZ_DIR)/fuzz_web_input $(FUZZ_DIR)/web-corpus/.seeded
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR)/fuzz_web_input $(FUZZ_DIR)/web-corpus $(FUZZ_DIR) $(FUZZ_TIME)

# The body of an OpenWhisk action's PUT (any key's client): exec and its
# base64 code (a module, or a zip through the bundle reader), parameters,
# annotations, limits; the action it makes kept as meta and read back.
FUZZ_OW_ACTION_SRC := tests/fuzz/fuzz_ow_action.c src/openwhisk/ow_action.c src/core/bundle.c \
                      src/base/utf8.c

$(FUZZ_DIR)/fuzz_ow_action: $(FUZZ_OW_ACTION_SRC) src/openwhisk/openwhisk.h src/core/core.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_OW_ACTION_SRC) -ljansson -lsodium -larchive -o $@

$(FUZZ_DIR)/ow-action-corpus/.seeded: $(FUZZ_DIR)/bundle-corpus/.seeded
	@mkdir -p $(dir $@)
	@printf '{"exec":{"kind":"wasm:0.1","code":"%s","main":"run"},"parameters":[{"key":"a","value":1},{"key":"a","value":{"b":[2]}}],"annotations":[{"key":"web-export","value":true}],"limits":{"timeout":1000,"memory":256,"logs":5,"concurrency":2},"publish":true,"version":"1.2.3"}' \
	  "$$(printf '\0asm\1\0\0\0' | base64 -w0)" >$(dir $@)seed-module
	@printf '{"exec":{"kind":" WASM:0.1 ","code":"%s"}}' "$$(base64 -w76 $(FUZZ_DIR)/bundle-corpus/seed.zip | sed 's/$$/\\n/' | tr -d '\n')" >$(dir $@)seed-zip
	@printf '{"limits":{"timeout":99,"memory":1e3},"parameters":{"a":1},"version":"x"}' >$(dir $@)seed-bad
	@printf '{"exec":null,"annotations":[],"publish":false}' >$(dir $@)seed-update
	@touch $@

.PHONY: fuzz-ow-action
fuzz-ow-action: $(FUZZ_DIR)/fuzz_ow_action $(FUZZ_DIR)/ow-action-corpus/.seeded
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR)/fuzz_ow_action $(FUZZ_DIR)/ow-action-corpus $(FUZZ_DIR) $(FUZZ_TIME)

# The bytes a cluster node reads from etcd: the watch stream, range replies
# and the records in them, applied to a view. The cluster files it parses
# with are compiled here with coverage; the rest of the node (the store,
# the map, ...) comes from libmote.a, built by gcc without coverage.
FUZZ_CLUSTER_SRC := tests/fuzz/fuzz_cluster.c src/cluster/records.c src/cluster/view.c

$(FUZZ_DIR)/fuzz_cluster: $(FUZZ_CLUSTER_SRC) src/cluster/etcd.c src/cluster/cluster_internal.h \
                          src/cluster/etcd.h $(BUILD)/libmote.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(CURL_CFLAGS) $(FUZZ_CLUSTER_SRC) $(BUILD)/libmote.a $(LDLIBS) -o $@

$(FUZZ_DIR)/cluster-corpus/.seeded:
	@mkdir -p $(dir $@)
	@printf '\0{"result":{"header":{"revision":"7"},"events":[{"kv":{"key":"%s","value":"%s","mod_revision":"5"}},{"type":"DELETE","kv":{"key":"%s","mod_revision":"6"}}]}}\n{"result":{"canceled":true,"compact_revision":"3"}}\n' \
	  "$$(printf /mote/nodes/a | base64 -w0)" "$$(printf '{"url":"http://127.0.0.1:8081","tag":"0a1b2c3d"}' | base64 -w0)" \
	  "$$(printf /mote/obj/k | base64 -w0)" >$(dir $@)seed-watch
	@printf '\1{"header":{"revision":"9"},"kvs":[{"key":"%s","value":"%s"},{"key":"%s","value":"%s"}]}' \
	  "$$(printf /mote/fn/guest/f | base64 -w0)" \
	  "$$(printf '{"version":2,"module_hash":"%064d","module_bytes":8,"files_hash":"%064d","files":{"count":1,"bytes":3,"paths":["a"]},"settings":{"memory_mib":64,"env":["K=V"]},"meta":"{}","created_ms":1,"holders":["a","b"]}' 0 1 | base64 -w0)" \
	  "$$(printf /mote/ns/guest | base64 -w0)" "$$(printf '{"created_ms":1,"invocations_per_minute":60,"concurrent":2}' | base64 -w0)" >$(dir $@)seed-range
	@# the last revision there is, then a compaction: resuming after it overflowed int64
	@printf '\0{"result":{"events":[{"kv":{"key":"%s","mod_revision":"9223372036854775807"}}]}}\n{"result":{"canceled":true,"compact_revision":"3"}}\n' \
	  "$$(printf /mote/obj/k | base64 -w0)" >$(dir $@)seed-revision-max
	@printf '\2{"hash":"%064d","bytes":8,"node":"a","ns":"guest","salt":"%032d","url":"http://h:1","tag":"01234567","version":1,"module_hash":"%064d","settings":{}}' 0 0 0 >$(dir $@)seed-record
	@touch $@

.PHONY: fuzz-cluster
fuzz-cluster: $(FUZZ_DIR)/fuzz_cluster $(FUZZ_DIR)/cluster-corpus/.seeded
	@tests/fuzz/run-fuzz.sh $(FUZZ_DIR)/fuzz_cluster $(FUZZ_DIR)/cluster-corpus $(FUZZ_DIR) $(FUZZ_TIME)

fuzz: fuzz-module fuzz-tcc fuzz-bundle fuzz-cgi fuzz-query fuzz-basic-auth fuzz-web-input \
      fuzz-ow-action fuzz-cluster

fuzz-long:
	$(MAKE) fuzz FUZZ_TIME=1800
