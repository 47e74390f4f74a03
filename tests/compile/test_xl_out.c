/* The translator's own printf (xl_out.c): every conversion it takes writes
 * what the C library's printf writes, and anything else goes to it. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compile/xl.h"
#include "module/module.h"
#include "test.h"

#define CHECK_STR_EQ(got, want) CHECK_MSG(!strcmp((got), (want)), (got))

/* xl_printf's output into a memory stream, as a string (caller frees). */
static char *printed(const char *fmt, ...) {
  char *buf = NULL;
  size_t len = 0;
  FILE *o = open_memstream(&buf, &len);
  va_list ap;
  va_start(ap, fmt);
  xl_vprintf(o, fmt, ap);
  va_end(ap);
  fclose(o);
  return buf;
}

TEST(conversions_match_the_c_library) {
  char want[256];
  snprintf(want, sizeof want, "%s = %u + %d %c %x %08x %03o %% %.*s|%zx %" PRIu64 " %" PRId64
           " %016" PRIx64, "si0", 4294967295u, -2147483647 - 1, 'v', 0xabcu, 0x1fu, 7u, 3, "l12xyz",
           (size_t)0xdeadbeef, UINT64_MAX, INT64_MIN, (uint64_t)0x7ff8000000000001ull);
  char *got = printed("%s = %u + %d %c %x %08x %03o %% %.*s|%zx %" PRIu64 " %" PRId64
                      " %016" PRIx64, "si0", 4294967295u, -2147483647 - 1, 'v', 0xabcu, 0x1fu, 7u,
                      3, "l12xyz", (size_t)0xdeadbeef, UINT64_MAX, INT64_MIN,
                      (uint64_t)0x7ff8000000000001ull);
  CHECK_STR_EQ(got, want);
  free(got);
}

TEST(other_conversions_go_to_the_c_library) {
  char *got = printed("%5.2f|%-4s|%u", 3.14159, "ab", 7u);
  CHECK_STR_EQ(got, " 3.14|ab  |7");
  free(got);
}

/* The conversions it takes are written before another one is met; the
 * library then writes the rest, with the rest of the arguments. */
TEST(conversions_before_another_one_are_kept) {
  char want[256], b[256];
  snprintf(want, sizeof want, "%s %u %5.2f %u|%x %s", "ab", 7u, 3.14159, 8u, 255u, "z");
  char *got = printed("%s %u %5.2f %u|%x %s", "ab", 7u, 3.14159, 8u, 255u, "z");
  CHECK_STR_EQ(got, want);
  free(got);
  xl_bprintf(b, sizeof b, "%s %u %5.2f %u|%x %s", "ab", 7u, 3.14159, 8u, 255u, "z");
  CHECK_STR_EQ(b, want);
  /* cut by the buffer before and after the other conversion */
  char small[8];
  xl_bprintf(small, sizeof small, "%s%5.2f", "abcdef", 3.14159);
  CHECK_STR_EQ(small, "abcdef ");
  xl_bprintf(small, sizeof small, "%s%5.2f", "abcdefghij", 3.14159);
  CHECK_STR_EQ(small, "abcdefg");
  /* more than the translator's own buffer (512 bytes) before it */
  char big[2000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  got = printed("<%s>%.1f|%u", big, 2.5, 42u);
  CHECK_EQ_INT((int)strlen(got), 2000 - 1 + 2 + 3 + 3);
  CHECK(got[0] == '<' && got[2000] == '>' && !strcmp(got + 2001, "2.5|42"));
  free(got);
}

/* What it does not take itself goes to the library: widths of strings, h,
 * wide characters, widths past its room; and padding puts the sign where
 * the library does. */
TEST(edges_match_the_c_library) {
  static const struct {
    const char *fmt;
    int kind; /* 0: an int, 1: a string, 2: an unsigned */
  } cases[] = {{"%5d|", 0},  {"%05d|", 0}, {"%-5d|", 0}, {"%2d|", 0},   {"%5s|", 1},
               {"%-5s|", 1}, {"%05s|", 1}, {"%hu|", 2},  {"%hhu|", 2}, {"%30u|", 2},
               {"%021u|", 2}, {"%20u|", 2}, {"%c|", 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char want[128];
    char *got;
    switch (cases[i].kind) {
      case 0:
        snprintf(want, sizeof want, cases[i].fmt, -42 + 120 * (cases[i].fmt[1] == 'c'));
        got = printed(cases[i].fmt, -42 + 120 * (cases[i].fmt[1] == 'c'));
        break;
      case 1:
        snprintf(want, sizeof want, cases[i].fmt, "ab");
        got = printed(cases[i].fmt, "ab");
        break;
      default:
        snprintf(want, sizeof want, cases[i].fmt, 70000u);
        got = printed(cases[i].fmt, 70000u);
        break;
    }
    CHECK_MSG(!strcmp(got, want), cases[i].fmt);
    free(got);
  }
}

/* A line-buffered stream (a terminal's stdout) keeps its buffer's end at
 * its start: every piece must go through the library, which writes each
 * line out as it ends, and nothing may go past the buffer (8 KB of lines
 * here, more than glibc's 4 KB buffer, for ASan). */
TEST(a_line_buffered_stream_gets_every_byte_at_each_line_end) {
  FILE *o = tmpfile();
  CHECK(o != NULL);
  if (!o) return;
  setvbuf(o, NULL, _IOLBF, 0);
  static char want[16384];
  want[0] = 0;
  size_t len = 0;
  for (int i = 0; i < 700; i++) {
    xl_printf(o, "line %d ", i); /* a write that ends inside a line */
    xl_printf(o, "%s\n", i % 3 ? "x" : "yz");
    len += (size_t)snprintf(want + len, sizeof want - len, "line %d %s\n", i, i % 3 ? "x" : "yz");
    struct stat st;
    if (i % 97 == 0) { /* out in the file without a flush */
      CHECK(fstat(fileno(o), &st) == 0 && (size_t)st.st_size == len);
    }
  }
  fflush(o);
  rewind(o);
  static char got[16384];
  size_t n = fread(got, 1, sizeof got - 1, o);
  got[n] = 0;
  CHECK_EQ_INT((int)n, (int)len);
  CHECK(!strcmp(got, want));
  fclose(o);
}

TEST(long_output_is_not_cut) {
  char big[2000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  char *got = printed("<%s>%u", big, 42u);
  CHECK_EQ_INT((int)strlen(got), 2000 - 1 + 2 + 2);
  CHECK(got[0] == '<' && got[2000] == '>' && !strcmp(got + 2001, "42"));
  free(got);
}

TEST(bprintf_stops_at_the_buffer) {
  char b[8];
  xl_bprintf(b, sizeof b, "l%u + %uu", 123456u, 7u);
  CHECK_STR_EQ(b, "l123456");
  xl_bprintf(b, sizeof b, "%s", "");
  CHECK_STR_EQ(b, "");
}

TEST(octal_escapes) {
  char *buf = NULL;
  size_t len = 0;
  FILE *o = open_memstream(&buf, &len);
  const uint8_t bytes[] = {0, 7, 'A', 0xff, '"'};
  xl_put_octal_escapes(o, bytes, sizeof bytes, 2);
  fclose(o);
  CHECK_STR_EQ(buf, "\\000\\007\"\n\"\\101\\377\"\n\"\\042");
  free(buf);
}

/* A translation whose C cannot be written (a full disk: /dev/full says
 * ENOSPC) is an I/O failure naming the cause, not an invalid module. */
TEST(a_failed_write_is_io_not_an_invalid_module) {
  /* (module (func (result i32) i32.const 7)) */
  static const uint8_t wasm[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05,
                                 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x0a,
                                 0x06, 0x01, 0x04, 0x00, 0x41, 0x07, 0x0b};
  mote_module *m = NULL;
  mote_module_error merr;
  CHECK_EQ_INT(mote_module_read(wasm, sizeof wasm, &m, &merr), MOTE_MODULE_OK);
  if (!m) return;
  FILE *full = fopen("/dev/full", "w");
  CHECK(full != NULL);
  xl_module x;
  xl_error err = {0};
  CHECK(xl_module_scan(&x, m, wasm, sizeof wasm));
  if (full) {
    setvbuf(full, NULL, _IONBF, 0); /* each write reaches the device */
    CHECK(!xl_module_write(full, &x, &err));
    CHECK(err.failed);
    CHECK(err.io);
    CHECK_STR_CONTAINS(err.message, "No space left");
    fclose(full);
  }
  xl_module_release(&x);
  mote_module_free(m);
}

RUN_TESTS(conversions_match_the_c_library, other_conversions_go_to_the_c_library,
          conversions_before_another_one_are_kept, edges_match_the_c_library,
          a_line_buffered_stream_gets_every_byte_at_each_line_end, long_output_is_not_cut,
          bprintf_stops_at_the_buffer, octal_escapes,
          a_failed_write_is_io_not_an_invalid_module)
