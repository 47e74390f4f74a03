/*
 * Unit tests of the module reader: one hand-made binary per class of error,
 * and the accessors on a small module that has a bit of everything.
 */
#include <stdlib.h>

#include "module/layout.h"
#include "module/module.h"
#include "test.h"

/* A module under construction. Section contents here stay below 128 bytes,
 * so every size is a one-byte LEB128. */
typedef struct wbuf {
  uint8_t b[1024];
  size_t n;
} wbuf;

static void put(wbuf *o, const uint8_t *p, size_t n) {
  memcpy(o->b + o->n, p, n);
  o->n += n;
}

static void header(wbuf *o) {
  static const uint8_t h[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  o->n = 0;
  put(o, h, sizeof h);
}

static void section(wbuf *o, uint8_t id, const uint8_t *c, size_t n) {
  uint8_t head[2] = {id, (uint8_t)n};
  put(o, head, 2);
  put(o, c, n);
}

#define SEC(o, id, ...)                  \
  do {                                   \
    const uint8_t c_[] = {__VA_ARGS__};  \
    section((o), (id), c_, sizeof c_);   \
  } while (0)

/* Common pieces: type 0 = [] -> [], one function of it, its body. */
#define TYPE_VOID SEC(&w, 1, 0x01, 0x60, 0x00, 0x00)
#define ONE_FUNC SEC(&w, 3, 0x01, 0x00)

static mote_module_error err;

static mote_module_status read_buf(const wbuf *w) {
  mote_module *m = NULL;
  memset(&err, 0, sizeof err);
  mote_module_status st = mote_module_read(w->b, w->n, &m, &err);
  if (st == MOTE_MODULE_OK) {
    CHECK(m != NULL);
  } else {
    CHECK(m == NULL);
    CHECK(err.status == st);
    CHECK(err.message[0] != '\0');
  }
  mote_module_free(m);
  return st;
}

TEST(empty_module_reads) {
  wbuf w;
  header(&w);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_OK);
}

TEST(empty_and_null_input) {
  mote_module *m = (mote_module *)1;
  CHECK_EQ_INT(mote_module_read(NULL, 0, &m, &err), MOTE_MODULE_MALFORMED);
  CHECK(m == NULL);
  CHECK_EQ_INT(mote_module_read((const uint8_t *)"", 0, &m, NULL), MOTE_MODULE_MALFORMED);
}

TEST(bad_magic) {
  wbuf w;
  header(&w);
  w.b[3] = 'n';
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "magic header not detected");
  CHECK_EQ_INT(err.offset, 0);
  /* a prefix of the magic is a truncated file, not a wrong one */
  w.n = 3;
  w.b[3] = 'm';
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "unexpected end");
}

TEST(bad_version) {
  wbuf w;
  header(&w);
  w.b[4] = 2;
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "unknown binary version");
}

TEST(truncated_leb) {
  wbuf w;
  header(&w);
  const uint8_t bytes[] = {0x01, 0x02, 0x80, 0x80}; /* type section, size 2: count never ends */
  put(&w, bytes, sizeof bytes);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "unexpected end");
  CHECK_STR_CONTAINS(err.message, "type section");
}

TEST(leb_too_long_or_too_large) {
  wbuf w;
  header(&w);
  SEC(&w, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00); /* 6 bytes for a u32 */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "integer representation too long");
  header(&w);
  SEC(&w, 1, 0x80, 0x80, 0x80, 0x80, 0x10); /* bit 32 set */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "integer too large");
  /* i32.const with a 5-byte s32 whose unused bits are not sign copies */
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x09, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x78, 0x1a, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_OK); /* 0x78: sign bit and above all 1 */
  w.b[w.n - 3] = 0x70;
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "integer too large");
}

TEST(section_out_of_order_or_repeated) {
  wbuf w;
  header(&w);
  ONE_FUNC;
  TYPE_VOID;
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "type section out of order");
  header(&w);
  TYPE_VOID;
  TYPE_VOID;
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  /* custom sections go anywhere; data count goes before code */
  header(&w);
  SEC(&w, 0, 0x01, 'x');
  TYPE_VOID;
  SEC(&w, 0, 0x01, 'y');
  ONE_FUNC;
  SEC(&w, 12, 0x00);
  SEC(&w, 10, 0x01, 0x02, 0x00, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_OK);
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x02, 0x00, 0x0b);
  SEC(&w, 12, 0x00);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
}

TEST(unknown_section_id) {
  wbuf w;
  header(&w);
  SEC(&w, 14, 0x00);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "malformed section id");
}

TEST(section_size_mismatch) {
  wbuf w;
  header(&w);
  SEC(&w, 1, 0x01, 0x60, 0x00, 0x00, 0x00); /* one byte too many */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "section size mismatch");
  header(&w);
  const uint8_t big[] = {0x01, 0x7f, 0x00}; /* size beyond the file */
  put(&w, big, sizeof big);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "length out of bounds");
}

TEST(function_code_count_mismatch) {
  wbuf w;
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "function and code section have inconsistent lengths");
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "inconsistent lengths");
}

TEST(data_count_rules) {
  wbuf w;
  header(&w);
  SEC(&w, 5, 0x01, 0x00, 0x01);
  SEC(&w, 12, 0x02);
  SEC(&w, 11, 0x01, 0x01, 0x00);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "data count and data section have inconsistent lengths");
  /* data.drop needs the data count section */
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x05, 0x00, 0xfc, 0x09, 0x00, 0x0b);
  SEC(&w, 11, 0x01, 0x01, 0x00);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "data count section required");
}

TEST(too_many_locals) {
  wbuf w;
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  /* 2^32-1 + 2 locals: past the binary format's own limit */
  SEC(&w, 10, 0x01, 0x0a, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x02, 0x7e, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "too many locals");
  /* 100000: within the format, past mote's limit */
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x06, 0x01, 0xa0, 0x8d, 0x06, 0x7f, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_TOO_LARGE);
}

TEST(illegal_opcode_and_missing_end) {
  wbuf w;
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x03, 0x00, 0x27, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "illegal opcode 0x27");
  CHECK_STR_CONTAINS(err.message, "function 0");
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x04, 0x00, 0x02, 0x40, 0x0b); /* block ... end, no final end */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "END opcode expected");
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x03, 0x00, 0x0b, 0x01); /* bytes after the final end */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x03, 0x00, 0x05, 0x0b); /* else outside if */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
}

TEST(zero_byte_immediates) {
  wbuf w;
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 5, 0x01, 0x00, 0x01);
  SEC(&w, 10, 0x01, 0x06, 0x00, 0x3f, 0x80, 0x00, 0x1a, 0x0b); /* memory.size 0x80 0x00 */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "zero byte expected");
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 5, 0x01, 0x00, 0x01);
  SEC(&w, 10, 0x01, 0x05, 0x00, 0x3f, 0x00, 0x1a, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_OK);
}

TEST(v128_param_is_read) {
  wbuf w;
  header(&w);
  SEC(&w, 1, 0x02, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7b, 0x00);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_OK);
  /* SIMD instructions with their immediates: v128.load, i8x16.shuffle, lane access */
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 5, 0x01, 0x00, 0x01);
  SEC(&w, 10, 0x01, 0x30, 0x00,
      0x41, 0x00, 0xfd, 0x00, 0x04, 0x00,                     /* v128.load align=16 */
      0xfd, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, /* v128.const */
      0xfd, 0x0d, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, /* shuffle */
      0xfd, 0x15, 0x03, 0x1a, 0x0b);                           /* extract_lane_s 3, drop */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_OK);
  /* a sub-opcode 2.0 leaves unassigned */
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x05, 0x00, 0xfd, 0x9a, 0x01, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "illegal opcode 0xfd 154");
}

TEST(relaxed_simd_opcode_names_function_and_offset) {
  wbuf w;
  header(&w);
  TYPE_VOID;
  SEC(&w, 2, 0x01, 0x01, 'e', 0x01, 'f', 0x00, 0x00); /* import e.f: function 0 */
  SEC(&w, 3, 0x02, 0x00, 0x00);                     /* functions 1 and 2 */
  size_t code = w.n;
  /* function 2 body: i32.const 0, i8x16.relaxed_swizzle (0xfd 0x100) ... */
  SEC(&w, 10, 0x02, 0x02, 0x00, 0x0b, 0x07, 0x00, 0x41, 0x00, 0xfd, 0x80, 0x02, 0x0b);
  /* name section: function 2 is "hot" */
  SEC(&w, 0, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x06, 0x01, 0x02, 0x03, 'h', 'o', 't');
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  size_t at = code + 2 + 1 + 3 + 1 + 1 + 2; /* header, count, body 1, size, locals, const */
  char want[64];
  snprintf(want, sizeof want, "at offset 0x%zx", at);
  CHECK_STR_CONTAINS(err.message, "unsupported feature relaxed SIMD: instruction 0xfd 256");
  CHECK_STR_CONTAINS(err.message, "in function 2 ($hot)");
  CHECK_STR_CONTAINS(err.message, want);
  CHECK_EQ_INT(err.offset, at);
}

TEST(other_unsupported_features) {
  wbuf w;
  /* memory64 */
  header(&w);
  SEC(&w, 5, 0x01, 0x04, 0x01);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "memory64");
  /* shared memory */
  header(&w);
  SEC(&w, 5, 0x01, 0x03, 0x01, 0x02);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "threads");
  /* two memories, defined */
  header(&w);
  SEC(&w, 5, 0x02, 0x00, 0x01, 0x00, 0x01);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "multi-memory");
  /* two memories, one imported */
  header(&w);
  SEC(&w, 2, 0x01, 0x01, 'e', 0x01, 'm', 0x02, 0x00, 0x01);
  SEC(&w, 5, 0x01, 0x00, 0x01);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "multi-memory");
  /* a memory index in a memarg */
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 5, 0x01, 0x00, 0x01);
  SEC(&w, 10, 0x01, 0x09, 0x00, 0x41, 0x00, 0x28, 0x42, 0x01, 0x00, 0x1a, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "multi-memory: memory index 1");
  /* tail call */
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x04, 0x00, 0x12, 0x00, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "tail calls");
  /* exception handling: try, and the tag section */
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x05, 0x00, 0x06, 0x40, 0x0b, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "exception handling");
  header(&w);
  TYPE_VOID;
  SEC(&w, 13, 0x01, 0x00, 0x00);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "exception handling");
  /* threads: an atomic */
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x05, 0x00, 0xfe, 0x03, 0x00, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "threads");
  /* GC: a struct type, a typed reference, an 0xfb instruction */
  header(&w);
  SEC(&w, 1, 0x01, 0x5f, 0x00);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "GC");
  header(&w);
  SEC(&w, 1, 0x01, 0x60, 0x01, 0x64, 0x00, 0x00);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "typed function references");
  /* extended constant expressions */
  header(&w);
  SEC(&w, 6, 0x01, 0x7f, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.message, "extended constant expressions");
  CHECK_STR_CONTAINS(err.message, "initializer of global 0");
  /* a v128 global: v128.const is constant, another SIMD instruction is not */
  header(&w);
  SEC(&w, 6, 0x01, 0x7b, 0x00, 0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_OK);
  header(&w);
  SEC(&w, 6, 0x01, 0x7b, 0x00, 0x41, 0x00, 0xfd, 0x11, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_INVALID);
  CHECK_STR_CONTAINS(err.message, "constant expression required");
}

TEST(bad_utf8_names) {
  wbuf w;
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 7, 0x01, 0x01, 0xff, 0x00, 0x00);
  SEC(&w, 10, 0x01, 0x02, 0x00, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "malformed UTF-8");
  /* overlong encoding of '/', and a surrogate, in custom section names */
  header(&w);
  SEC(&w, 0, 0x02, 0xc0, 0xaf);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  header(&w);
  SEC(&w, 0, 0x03, 0xed, 0xa0, 0x80);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  header(&w);
  SEC(&w, 0, 0x04, 0xf0, 0x9f, 0x98, 0x80); /* a valid 4-byte character */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_OK);
}

TEST(oversized_counts_do_not_allocate) {
  wbuf w;
  /* 2^32-1 types: past the limit */
  header(&w);
  SEC(&w, 1, 0xff, 0xff, 0xff, 0xff, 0x0f);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_TOO_LARGE);
  CHECK_STR_CONTAINS(err.message, "types");
  /* 99999 imports (under the limit) in a 3-byte section: refused before
   * allocating, as they cannot fit */
  header(&w);
  SEC(&w, 2, 0x9f, 0x8d, 0x06);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_STR_CONTAINS(err.message, "cannot fit");
  /* a huge br_table */
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x09, 0x00, 0x41, 0x00, 0x0e, 0xff, 0xff, 0xff, 0xff, 0x0f);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
}

TEST(element_segment_forms) {
  wbuf w;
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 4, 0x01, 0x70, 0x00, 0x01);
  SEC(&w, 9, 0x08,
      0x00, 0x41, 0x00, 0x0b, 0x01, 0x00,                   /* 0: active, func indices */
      0x01, 0x00, 0x01, 0x00,                               /* 1: passive */
      0x02, 0x00, 0x41, 0x00, 0x0b, 0x00, 0x01, 0x00,       /* 2: explicit table */
      0x03, 0x00, 0x01, 0x00,                               /* 3: declarative */
      0x04, 0x41, 0x00, 0x0b, 0x01, 0xd2, 0x00, 0x0b,       /* 4: active, exprs */
      0x05, 0x70, 0x01, 0xd0, 0x70, 0x0b,                   /* 5: passive exprs */
      0x06, 0x00, 0x41, 0x00, 0x0b, 0x70, 0x01, 0xd2, 0x00, 0x0b, /* 6 */
      0x07, 0x70, 0x01, 0xd2, 0x00, 0x0b);                  /* 7: declarative exprs */
  SEC(&w, 10, 0x01, 0x02, 0x00, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_OK);
  header(&w);
  SEC(&w, 9, 0x01, 0x08, 0x00);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  header(&w);
  SEC(&w, 9, 0x01, 0x01, 0x01, 0x00); /* element kind must be 0 */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
}

TEST(ill_typed_constant_expressions_are_invalid) {
  wbuf w;
  header(&w);
  SEC(&w, 5, 0x01, 0x00, 0x01);
  SEC(&w, 11, 0x01, 0x00, 0x0b, 0x00); /* data offset: just END */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_INVALID);
  CHECK_STR_CONTAINS(err.message, "type mismatch: empty constant expression, expected i32");
  CHECK_STR_CONTAINS(err.message, "in the offset of data segment 0 at offset 0x");
  /* malformed wins over invalid, wherever it comes */
  SEC(&w, 0x0e, 0x00);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);

  header(&w);
  SEC(&w, 6, 0x01, 0x7f, 0x00, 0x42, 0x00, 0x0b); /* i32 global = i64.const 0 */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_INVALID);
  CHECK_STR_CONTAINS(err.message, "gives i64, expected i32 in the initializer of global 0");

  header(&w);
  SEC(&w, 6, 0x02, 0x7f, 0x01, 0x41, 0x00, 0x0b, /* a mutable global ... */
      0x7f, 0x00, 0x23, 0x00, 0x0b);             /* ... read by a constant */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_INVALID);
  CHECK_STR_CONTAINS(err.message, "constant expression required");

  header(&w);
  SEC(&w, 6, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x41, 0x00, 0x0b); /* two values */
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_INVALID);
  CHECK_STR_CONTAINS(err.message, "leaves 2 values");

  header(&w); /* an earlier immutable global is fine (wasm2c checks the rest) */
  SEC(&w, 6, 0x02, 0x7f, 0x00, 0x41, 0x05, 0x0b, 0x7f, 0x00, 0x23, 0x00, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_OK);
}

TEST(call_indirect_needs_a_funcref_table) {
  wbuf w;
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 4, 0x01, 0x6f, 0x00, 0x01);
  SEC(&w, 10, 0x01, 0x07, 0x00, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_INVALID);
  CHECK_STR_CONTAINS(err.message, "call_indirect through table 0 of externref");
}

TEST(global_get_element_items) {
  wbuf w;
  header(&w);
  TYPE_VOID;
  SEC(&w, 2, 0x01, 0x01, 'a', 0x01, 'g', 0x03, 0x70, 0x00); /* an immutable funcref global */
  ONE_FUNC;
  SEC(&w, 4, 0x01, 0x70, 0x00, 0x04);
  SEC(&w, 9, 0x03,
      0x04, 0x41, 0x00, 0x0b, 0x01, 0xd2, 0x00, 0x0b,             /* active, ref.func */
      0x04, 0x41, 0x01, 0x0b, 0x02, 0x23, 0x00, 0x0b, 0xd2, 0x00, 0x0b, /* active, global.get */
      0x05, 0x70, 0x01, 0x23, 0x00, 0x0b);                        /* passive, global.get */
  SEC(&w, 10, 0x01, 0x02, 0x00, 0x0b);
  mote_module *m = NULL;
  CHECK_EQ_INT(mote_module_read(w.b, w.n, &m, &err), MOTE_MODULE_OK);
  if (m) {
    CHECK(mote_layout_section_count(m) == 6);
    mote_module_free(m);
  }
}

TEST(accessors_on_a_small_module) {
  wbuf w;
  header(&w);
  /* type 0: (i32, i64) -> f32; type 1: [] -> [] */
  SEC(&w, 1, 0x02, 0x60, 0x02, 0x7f, 0x7e, 0x01, 0x7d, 0x60, 0x00, 0x00);
  SEC(&w, 2, 0x04,
      0x03, 'e', 'n', 'v', 0x01, 'f', 0x00, 0x00,             /* func, type 0 */
      0x03, 'e', 'n', 'v', 0x01, 't', 0x01, 0x6f, 0x01, 0x01, 0x02, /* table */
      0x03, 'e', 'n', 'v', 0x01, 'm', 0x02, 0x00, 0x03,       /* memory min 3 */
      0x03, 'e', 'n', 'v', 0x01, 'g', 0x03, 0x7c, 0x01);      /* mutable f64 */
  SEC(&w, 3, 0x02, 0x01, 0x00);
  SEC(&w, 4, 0x01, 0x70, 0x00, 0x05);
  SEC(&w, 6, 0x01, 0x7f, 0x00, 0x41, 0x2a, 0x0b);
  SEC(&w, 7, 0x02, 0x04, 'm', 'a', 'i', 'n', 0x00, 0x01, 0x03, 'm', 'e', 'm', 0x02, 0x00);
  SEC(&w, 8, 0x01);
  SEC(&w, 10, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b);
  SEC(&w, 0, 0x04, 'n', 'a', 'm', 'e',
      0x00, 0x04, 0x03, 'm', 'o', 'd',                        /* module name */
      0x01, 0x0b, 0x02, 0x00, 0x03, 'i', 'm', 'p', 0x02, 0x03, 'f', 'o', 'o');
  SEC(&w, 0, 0x03, 'x', 'y', 'z', 0xaa, 0xbb);

  mote_module *m = NULL;
  CHECK_EQ_INT(mote_module_read(w.b, w.n, &m, &err), MOTE_MODULE_OK);
  if (!m) return;
  CHECK_EQ_INT(mote_module_type_count(m), 2);
  const mote_functype *t = mote_module_type(m, 0);
  CHECK(t && t->param_count == 2 && t->params[0] == MOTE_I32 && t->params[1] == MOTE_I64);
  CHECK(t && t->result_count == 1 && t->results[0] == MOTE_F32);
  CHECK(mote_module_type(m, 2) == NULL);

  CHECK_EQ_INT(mote_module_import_count(m), 4);
  const mote_import *im = mote_module_import(m, 0);
  CHECK(im && im->kind == MOTE_EXTERN_FUNC && im->u.type_index == 0);
  CHECK(im && im->module_len == 3 && memcmp(im->module, "env", 3) == 0);
  CHECK(im && im->name_len == 1 && im->name[0] == 'f');
  im = mote_module_import(m, 1);
  CHECK(im && im->kind == MOTE_EXTERN_TABLE && im->u.table.elemtype == MOTE_EXTERNREF);
  CHECK(im && im->u.table.limits.min == 1 && im->u.table.limits.has_max &&
        im->u.table.limits.max == 2);
  im = mote_module_import(m, 2);
  CHECK(im && im->kind == MOTE_EXTERN_MEMORY && im->u.memory.min == 3 && !im->u.memory.has_max);
  im = mote_module_import(m, 3);
  CHECK(im && im->kind == MOTE_EXTERN_GLOBAL && im->u.global.valtype == MOTE_F64 &&
        im->u.global.is_mutable);
  CHECK(mote_module_import(m, 4) == NULL);

  CHECK_EQ_INT(mote_module_func_count(m), 3);
  CHECK(mote_module_func_type(m, 0) == mote_module_type(m, 0));
  CHECK(mote_module_func_type(m, 1) == mote_module_type(m, 1));
  CHECK(mote_module_func_type(m, 2) == mote_module_type(m, 0));
  CHECK(mote_module_func_type(m, 3) == NULL);
  CHECK_EQ_INT(mote_module_table_count(m), 2);
  CHECK(mote_module_table(m, 1) && mote_module_table(m, 1)->elemtype == MOTE_FUNCREF);
  CHECK(mote_module_table(m, 1) && mote_module_table(m, 1)->limits.min == 5);
  CHECK_EQ_INT(mote_module_memory_count(m), 1);
  CHECK(mote_module_memory(m, 0) && mote_module_memory(m, 0)->min == 3);
  CHECK_EQ_INT(mote_module_global_count(m), 2);
  CHECK(mote_module_global(m, 1) && mote_module_global(m, 1)->valtype == MOTE_I32 &&
        !mote_module_global(m, 1)->is_mutable);

  CHECK_EQ_INT(mote_module_export_count(m), 2);
  const mote_export *ex = mote_module_export(m, 0);
  CHECK(ex && ex->kind == MOTE_EXTERN_FUNC && ex->index == 1 && ex->name_len == 4 &&
        memcmp(ex->name, "main", 4) == 0);
  ex = mote_module_export(m, 1);
  CHECK(ex && ex->kind == MOTE_EXTERN_MEMORY && ex->index == 0);

  uint32_t start = 99;
  CHECK(mote_module_start(m, &start));
  CHECK_EQ_INT(start, 1);

  uint32_t len = 0;
  const char *name = mote_module_name(m, &len);
  CHECK(name && len == 3 && memcmp(name, "mod", 3) == 0);
  name = mote_module_func_name(m, 0, &len);
  CHECK(name && len == 3 && memcmp(name, "imp", 3) == 0);
  name = mote_module_func_name(m, 2, &len);
  CHECK(name && len == 3 && memcmp(name, "foo", 3) == 0);
  CHECK(mote_module_func_name(m, 1, &len) == NULL);

  size_t clen = 0;
  const uint8_t *c = mote_module_custom_section(m, "xyz", &clen);
  CHECK(c && clen == 2 && c[0] == 0xaa && c[1] == 0xbb);
  CHECK(mote_module_custom_section(m, "name", &clen) != NULL);
  CHECK(mote_module_custom_section(m, "nope", &clen) == NULL);
  mote_module_free(m);
}

TEST(broken_name_section_is_ignored) {
  wbuf w;
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x02, 0x00, 0x0b);
  /* function names: a valid one, then a truncated entry */
  SEC(&w, 0, 0x04, 'n', 'a', 'm', 'e', 0x01, 0x07, 0x02, 0x00, 0x01, 'a', 0x01, 0x05, 'b');
  mote_module *m = NULL;
  CHECK_EQ_INT(mote_module_read(w.b, w.n, &m, &err), MOTE_MODULE_OK);
  if (!m) return;
  uint32_t len;
  CHECK(mote_module_func_name(m, 0, &len) != NULL);
  CHECK(mote_module_func_name(m, 1, &len) == NULL);
  CHECK(mote_module_name(m, &len) == NULL);
  mote_module_free(m);
}

/* 3000 empty custom sections (4 bytes each), then a "name" one: the first
 * MR_CUSTOMS_LISTED (1024) are listed, and the "name" one, the rest read
 * and skipped: listed, each took 64 bytes, so 15 MB of them took 323 MiB. */
TEST(custom_sections_past_the_first_thousand_are_skipped_but_name_is_kept) {
  size_t cap = 8 + 3000 * 7 + 16, n = 0;
  uint8_t *b = malloc(cap);
  CHECK(b != NULL);
  if (!b) return;
  static const uint8_t h[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  memcpy(b, h, sizeof h);
  n = sizeof h;
  for (int i = 0; i < 3000; i++) {
    static const uint8_t c[] = {0x00, 0x02, 0x01, 'c'};
    memcpy(b + n, c, sizeof c);
    n += sizeof c;
  }
  static const uint8_t names[] = {0x00, 0x0b, 0x04, 'n', 'a', 'm', 'e',
                                  0x00, 0x04, 0x03, 'm', 'o', 'd'};
  memcpy(b + n, names, sizeof names);
  n += sizeof names;
  mote_module *m = NULL;
  CHECK_EQ_INT(mote_module_read(b, n, &m, &err), MOTE_MODULE_OK);
  if (m) {
    CHECK_EQ_INT(mote_layout_section_count(m), 1025);
    size_t clen = 99;
    CHECK(mote_module_custom_section(m, "c", &clen) != NULL && clen == 0);
    CHECK(mote_module_custom_section(m, "name", &clen) != NULL);
    uint32_t len = 0;
    const char *name = mote_module_name(m, &len);
    CHECK(name && len == 3 && memcmp(name, "mod", 3) == 0);
    mote_module_free(m);
  }
  /* named "name", all of them: only the first is listed past the thousand
   * (names.c reads no other); listing every "name" one escaped the cap */
  n = sizeof h;
  for (int i = 0; i < 3000; i++) {
    static const uint8_t c[] = {0x00, 0x05, 0x04, 'n', 'a', 'm', 'e'};
    memcpy(b + n, c, sizeof c);
    n += sizeof c;
  }
  m = NULL;
  CHECK_EQ_INT(mote_module_read(b, n, &m, &err), MOTE_MODULE_OK);
  if (m) CHECK_EQ_INT(mote_layout_section_count(m), 1024);
  mote_module_free(m);
  free(b);
}

/* Bytes mote_module_read accepted before: the bodies are only walked (an
 * illegal opcode goes unseen, as the contract says), the rest is checked as
 * ever. */
TEST(known_bytes_skip_only_the_decoding_of_bodies) {
  wbuf w;
  mote_module *m = NULL;
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x03, 0x00, 0x27, 0x0b);
  CHECK_EQ_INT(read_buf(&w), MOTE_MODULE_MALFORMED);
  CHECK_EQ_INT(mote_module_read_known(w.b, w.n, &m, &err), MOTE_MODULE_OK);
  CHECK(m && mote_module_func_count(m) == 1);
  mote_module_free(m);
  m = NULL;
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x01, 0x09, 0x00, 0x0b); /* a body past its section */
  CHECK_EQ_INT(mote_module_read_known(w.b, w.n, &m, &err), MOTE_MODULE_MALFORMED);
  CHECK(m == NULL);
  header(&w);
  TYPE_VOID;
  ONE_FUNC;
  SEC(&w, 10, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b); /* two bodies, one function */
  CHECK_EQ_INT(mote_module_read_known(w.b, w.n, &m, &err), MOTE_MODULE_MALFORMED);
  CHECK(m == NULL);
}

RUN_TESTS(custom_sections_past_the_first_thousand_are_skipped_but_name_is_kept,
          empty_module_reads, empty_and_null_input, bad_magic, bad_version, truncated_leb,
          leb_too_long_or_too_large, section_out_of_order_or_repeated, unknown_section_id,
          section_size_mismatch, function_code_count_mismatch, data_count_rules,
          too_many_locals, illegal_opcode_and_missing_end, zero_byte_immediates,
          v128_param_is_read, relaxed_simd_opcode_names_function_and_offset,
          other_unsupported_features, bad_utf8_names, oversized_counts_do_not_allocate,
          element_segment_forms, accessors_on_a_small_module, broken_name_section_is_ignored,
          ill_typed_constant_expressions_are_invalid, call_indirect_needs_a_funcref_table,
          global_get_element_items, known_bytes_skip_only_the_decoding_of_bodies)
