/* core/bundle.c: archives made in memory with libarchive's writer, good and hostile. */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "test.h"

/* One entry to write. `zeros` bytes of 0 follow `data` (for big files). */
typedef struct spec {
  const char *path;
  unsigned type; /* AE_IFREG when 0 */
  const char *data;
  size_t zeros;
  const char *symlink, *hardlink;
} spec;

enum fmt { TGZ, TAR, ZIP };

#define OUT_CAP (96u << 20) /* a plain tar of a file over the per-file limit fits */
static const char wasm_min[] = "\0asm\1\0\0\0"; /* 8 bytes: an empty module */

/* The archive's bytes (from malloc), *len of them. */
static uint8_t *make(enum fmt f, const spec *s, size_t n, size_t *len) {
  struct archive *a = archive_write_new();
  if (f == ZIP) {
    archive_write_set_format_zip(a);
  } else {
    archive_write_set_format_pax_restricted(a);
    /* names as given, bytes that are not UTF-8 included */
    archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY");
    if (f == TGZ) {
      archive_write_add_filter_gzip(a);
      archive_write_set_filter_option(a, "gzip", "compression-level", "1");
    }
  }
  uint8_t *out = malloc(OUT_CAP);
  size_t used = 0;
  if (!out || archive_write_open_memory(a, out, OUT_CAP, &used) != ARCHIVE_OK) abort();
  static uint8_t zeros[1 << 16];
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *e = archive_entry_new();
    size_t dlen = s[i].data == wasm_min ? 8 : s[i].data ? strlen(s[i].data) : 0;
    archive_entry_set_pathname(e, s[i].path);
    archive_entry_set_filetype(e, s[i].type ? s[i].type : AE_IFREG);
    archive_entry_set_perm(e, s[i].type == AE_IFDIR ? 0755 : 0644);
    if (s[i].symlink) archive_entry_set_symlink(e, s[i].symlink);
    if (s[i].hardlink) archive_entry_set_hardlink(e, s[i].hardlink);
    bool has_data = (!s[i].type || s[i].type == AE_IFREG) && !s[i].hardlink;
    archive_entry_set_size(e, has_data ? (la_int64_t)(dlen + s[i].zeros) : 0);
    if (archive_write_header(a, e) != ARCHIVE_OK) {
      fprintf(stderr, "write_header %s: %s\n", s[i].path, archive_error_string(a));
      abort();
    }
    if (has_data && dlen) archive_write_data(a, s[i].data, dlen);
    for (size_t z = s[i].zeros; has_data && z > 0;) {
      size_t k = z < sizeof zeros ? z : sizeof zeros;
      archive_write_data(a, zeros, k);
      z -= k;
    }
    archive_entry_free(e);
  }
  if (archive_write_close(a) != ARCHIVE_OK) abort();
  archive_write_free(a);
  *len = used;
  return out;
}

/* Extracts; returns the result and leaves the message in msg. */
static bool extract(enum fmt f, const spec *s, size_t n, core_bundle *b, char *msg, size_t cap) {
  size_t len;
  uint8_t *bytes = make(f, s, n, &len);
  msg[0] = '\0';
  bool ok = core_bundle_extract(bytes, len, f == ZIP ? CORE_BODY_ZIP : f == TGZ ? CORE_BODY_TAR_GZ
                                                                          : CORE_BODY_TAR,
                           b, msg, cap);
  free(bytes);
  return ok;
}

#define MAIN {"main.wasm", 0, wasm_min, 0, NULL, NULL}

TEST(good_bundles_every_format) {
  const spec s[] = {
      {"data/", AE_IFDIR, NULL, 0, NULL, NULL},
      {"data/weights.bin", 0, "0123456789", 0, NULL, NULL},
      MAIN,
      {"empty/", AE_IFDIR, NULL, 0, NULL, NULL},
      {"a.txt", 0, "hello", 0, NULL, NULL},
      {"zero", 0, "", 0, NULL, NULL},
  };
  for (int f = TGZ; f <= ZIP; f++) {
    core_bundle b;
    char msg[1200];
    CHECK_MSG(extract((enum fmt)f, s, 6, &b, msg, sizeof msg), msg);
    CHECK_EQ_INT(b.module_len, 8);
    CHECK(b.module && !memcmp(b.module, wasm_min, 8));
    /* Files sorted by path, main.wasm and directories not among them. */
    CHECK_EQ_INT(b.nfiles, 3);
    if (b.nfiles == 3) {
      CHECK(!strcmp(b.files[0].path, "a.txt") && b.files[0].len == 5 &&
            !memcmp(b.files[0].data, "hello", 5));
      CHECK(!strcmp(b.files[1].path, "data/weights.bin") && b.files[1].len == 10);
      CHECK(!strcmp(b.files[2].path, "zero") && b.files[2].len == 0);
    }
    CHECK_EQ_INT(b.files_bytes, 15);
    core_bundle_free(&b);
  }
}

TEST(one_top_level_directory_is_stripped) {
  const spec wrapped[] = {
      {"pkg/", AE_IFDIR, NULL, 0, NULL, NULL},
      {"pkg/main.wasm", 0, wasm_min, 0, NULL, NULL},
      {"pkg/lib/x.txt", 0, "x", 0, NULL, NULL},
  };
  core_bundle b;
  char msg[1200];
  CHECK_MSG(extract(TGZ, wrapped, 3, &b, msg, sizeof msg), msg);
  CHECK_EQ_INT(b.nfiles, 1);
  CHECK(b.nfiles == 1 && !strcmp(b.files[0].path, "lib/x.txt"));
  CHECK_EQ_INT(b.module_len, 8);
  core_bundle_free(&b);

  /* "./" prefixes, as `tar czf x.tgz -C dir .` writes them. */
  const spec dotted[] = {
      {"./", AE_IFDIR, NULL, 0, NULL, NULL},
      {"./main.wasm", 0, wasm_min, 0, NULL, NULL},
      {"./x", 0, "x", 0, NULL, NULL},
  };
  CHECK_MSG(extract(TAR, dotted, 3, &b, msg, sizeof msg), msg);
  CHECK(b.nfiles == 1 && !strcmp(b.files[0].path, "x"));
  core_bundle_free(&b);

  /* Two top-level directories: nothing is stripped, and main.wasm is missing. */
  const spec two[] = {
      {"a/main.wasm", 0, wasm_min, 0, NULL, NULL},
      {"b/x", 0, "x", 0, NULL, NULL},
  };
  CHECK(!extract(TGZ, two, 2, &b, msg, sizeof msg));
  CHECK_STR_CONTAINS(msg, "no file main.wasm at the root");
  CHECK_STR_CONTAINS(msg, "a/, b/");
  /* A single top-level file is not a directory to strip. */
  const spec lone[] = {{"prog.wasm", 0, wasm_min, 0, NULL, NULL}};
  CHECK(!extract(ZIP, lone, 1, &b, msg, sizeof msg));
  CHECK_STR_CONTAINS(msg, "found prog.wasm");
}

/* Each hostile bundle is refused with a message naming what is wrong. */
TEST(hostile_entries_refused) {
  static const struct {
    spec bad;
    const char *expect;
  } cases[] = {
      {{"/etc/cron.d/x", 0, "x", 0, NULL, NULL}, "\"/etc/cron.d/x\": an absolute path"},
      {{"../x", 0, "x", 0, NULL, NULL}, "\"../x\": a \"..\" component"},
      {{"a/../../x", 0, "x", 0, NULL, NULL}, "\"a/../../x\": a \"..\" component"},
      {{"up", AE_IFLNK, NULL, 0, "../../etc/passwd", NULL}, "\"up\": a symlink"},
      {{"abs", AE_IFLNK, NULL, 0, "/etc/passwd", NULL}, "\"abs\": a symlink"},
      {{"inside", AE_IFLNK, NULL, 0, "main.wasm", NULL}, "\"inside\": a symlink"},
      {{"hard", 0, NULL, 0, NULL, "main.wasm"}, "\"hard\": a hard link"},
      {{"tty", AE_IFCHR, NULL, 0, NULL, NULL}, "\"tty\": a character device"},
      {{"disk", AE_IFBLK, NULL, 0, NULL, NULL}, "\"disk\": a block device"},
      {{"pipe", AE_IFIFO, NULL, 0, NULL, NULL}, "\"pipe\": a FIFO"},
      {{"a\x01" "b", 0, "x", 0, NULL, NULL}, "\"a\\x01b\": a control byte (0x01)"},
      {{"new\nline", 0, "x", 0, NULL, NULL}, "a control byte (0x0a)"},
      {{"caf\xe9", 0, "x", 0, NULL, NULL}, "\"caf\\xe9\": the name is not UTF-8"},
      {{"main.wasm/x", 0, "x", 0, NULL, NULL}, "which is a file in the bundle"},
      {{"./main.wasm", 0, "y", 0, NULL, NULL}, "\"main.wasm\": appears twice"},
      {{"big.bin", 0, NULL, CORE_BUNDLE_MAX_FILE + 1, NULL, NULL},
       "\"big.bin\": larger than the limit of 67108864 bytes per file"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    /* Before and after main.wasm: the order must not matter. */
    for (int first = 0; first < 2; first++) {
      for (int f = TGZ; f <= ZIP; f++) {
        /* zip has no devices or FIFOs */
        unsigned t = cases[i].bad.type;
        if (f == ZIP && (t == AE_IFCHR || t == AE_IFBLK || t == AE_IFIFO)) continue;
        if (f == ZIP && cases[i].bad.hardlink) continue; /* nor hard links */
        const spec s[2] = {first ? cases[i].bad : (spec)MAIN, first ? (spec)MAIN : cases[i].bad};
        core_bundle b;
        char msg[1200];
        CHECK_MSG(!extract((enum fmt)f, s, 2, &b, msg, sizeof msg), cases[i].expect);
        CHECK_STR_CONTAINS(msg, cases[i].expect);
        CHECK(b.module == NULL && b.nfiles == 0);
      }
    }
  }
}

TEST(missing_or_bad_main_wasm) {
  core_bundle b;
  char msg[1200];
  const spec none[] = {{"x.txt", 0, "x", 0, NULL, NULL}, {"y/z", 0, "z", 0, NULL, NULL}};
  CHECK(!extract(TGZ, none, 2, &b, msg, sizeof msg));
  CHECK_STR_CONTAINS(msg, "no file main.wasm at the root of the bundle (found x.txt, y/)");
  const spec dir[] = {{"main.wasm/", AE_IFDIR, NULL, 0, NULL, NULL},
                      {"other", 0, "x", 0, NULL, NULL}};
  CHECK(!extract(ZIP, dir, 2, &b, msg, sizeof msg));
  CHECK_STR_CONTAINS(msg, "no file main.wasm");
  const spec empty[] = {{"main.wasm", 0, "", 0, NULL, NULL}, {"other", 0, "x", 0, NULL, NULL}};
  CHECK(!extract(TAR, empty, 2, &b, msg, sizeof msg));
  CHECK_STR_CONTAINS(msg, "\"main.wasm\": the module is empty");
  CHECK(!extract(TGZ, NULL, 0, &b, msg, sizeof msg));
  CHECK_STR_CONTAINS(msg, "found nothing");
}

TEST(limits_counted_from_the_bytes) {
  core_bundle b;
  char msg[1200];
  /* Files under the per-file limit that add up to more than the total. */
  spec s[6] = {MAIN};
  static char names[5][8];
  for (int i = 0; i < 5; i++) {
    snprintf(names[i], sizeof names[i], "f%d", i);
    s[i + 1] = (spec){names[i], 0, NULL, CORE_BUNDLE_MAX_TOTAL / 5 + 1, NULL, NULL};
  }
  CHECK(!extract(TGZ, s, 6, &b, msg, sizeof msg));
  CHECK_STR_CONTAINS(msg, "\"f4\": the files add up to more than the limit of 268435456 bytes");

  /* Entries past the count: stopped at the first one over. */
  size_t n = CORE_BUNDLE_MAX_ENTRIES + 1;
  spec *many = calloc(n, sizeof *many);
  char (*paths)[16] = calloc(n, sizeof *paths);
  many[0] = (spec)MAIN;
  for (size_t i = 1; i < n; i++) {
    snprintf(paths[i], sizeof paths[i], "e%zu", i);
    many[i] = (spec){paths[i], 0, "", 0, NULL, NULL};
  }
  CHECK(!extract(TGZ, many, n, &b, msg, sizeof msg));
  CHECK_STR_CONTAINS(msg, "more than 10000 entries");
  CHECK_MSG(extract(ZIP, many, n - 1, &b, msg, sizeof msg), msg); /* exactly the limit */
  CHECK_EQ_INT(b.nfiles, n - 2);
  core_bundle_free(&b);
  free(many);
  free(paths);
}

TEST(corrupt_archives) {
  const spec s[] = {MAIN, {"text", 0, "some text that compresses, some text that compresses",
                           0, NULL, NULL}};
  core_bundle b;
  char msg[1200];
  for (int f = TGZ; f <= ZIP; f++) {
    size_t len;
    uint8_t *bytes = make((enum fmt)f, s, 2, &len);
    core_body_kind kind = f == ZIP ? CORE_BODY_ZIP : f == TGZ ? CORE_BODY_TAR_GZ : CORE_BODY_TAR;
    /* Cut short. */
    CHECK(!core_bundle_extract(bytes, len / 2, kind, &b, msg, sizeof msg));
    CHECK_STR_CONTAINS(msg, "bundle");
    /* Bytes flipped in the middle (compressed data, a header, the listing). */
    for (size_t at = len / 4; at < len; at += len / 4) {
      uint8_t *copy = malloc(len);
      memcpy(copy, bytes, len);
      for (size_t k = at; k < at + 16 && k < len; k++) copy[k] ^= 0x5a;
      bool ok = core_bundle_extract(copy, len, kind, &b, msg, sizeof msg);
      /* A flip in tar padding can pass unnoticed; what passes must still be whole. */
      if (ok) {
        CHECK(b.module_len == 8);
        core_bundle_free(&b);
      }
      free(copy);
    }
    free(bytes);
  }
  static const uint8_t junk[] = "this is not an archive at all, not even close............";
  CHECK(!core_bundle_extract(junk, sizeof junk, CORE_BODY_TAR_GZ, &b, msg, sizeof msg));
  CHECK_STR_CONTAINS(msg, "bundle: ");
  CHECK(!core_bundle_extract(junk, sizeof junk, CORE_BODY_ZIP, &b, msg, sizeof msg));
  CHECK(!core_bundle_extract(junk, sizeof junk, CORE_BODY_TAR, &b, msg, sizeof msg));
  /* A plain tar sent as gzip. */
  size_t len;
  uint8_t *tar = make(TAR, s, 2, &len);
  CHECK(!core_bundle_extract(tar, len, CORE_BODY_TAR_GZ, &b, msg, sizeof msg));
  CHECK_STR_CONTAINS(msg, "not gzip-compressed");
  /* ... while x-tar takes both. */
  CHECK_MSG(core_bundle_extract(tar, len, CORE_BODY_TAR, &b, msg, sizeof msg), msg);
  core_bundle_free(&b);
  free(tar);
}

TEST(kinds_and_magic) {
  CHECK_EQ_INT(core_bundle_kind_of_type("application/wasm"), CORE_BODY_WASM);
  CHECK_EQ_INT(core_bundle_kind_of_type("Application/GZIP; charset=x"), CORE_BODY_TAR_GZ);
  CHECK_EQ_INT(core_bundle_kind_of_type("application/x-gzip"), CORE_BODY_TAR_GZ);
  CHECK_EQ_INT(core_bundle_kind_of_type("application/x-tar"), CORE_BODY_TAR);
  CHECK_EQ_INT(core_bundle_kind_of_type("application/zip"), CORE_BODY_ZIP);
  CHECK_EQ_INT(core_bundle_kind_of_type("application/octet-stream"), CORE_BODY_SNIFF);
  CHECK_EQ_INT(core_bundle_kind_of_type("text/plain"), CORE_BODY_UNSUPPORTED);
  CHECK_EQ_INT(core_bundle_kind_of_type("application/wasmx"), CORE_BODY_UNSUPPORTED);
  CHECK_EQ_INT(core_bundle_kind_of_type(NULL), CORE_BODY_UNSUPPORTED);
  const spec s[] = {MAIN};
  size_t len;
  for (int f = TGZ; f <= ZIP; f++) {
    uint8_t *bytes = make((enum fmt)f, s, 1, &len);
    CHECK_EQ_INT(core_bundle_sniff(bytes, len),
                 f == ZIP ? CORE_BODY_ZIP : f == TGZ ? CORE_BODY_TAR_GZ : CORE_BODY_TAR);
    free(bytes);
  }
  CHECK_EQ_INT(core_bundle_sniff((const uint8_t *)wasm_min, 8), CORE_BODY_WASM);
  CHECK_EQ_INT(core_bundle_sniff((const uint8_t *)"hello", 5), CORE_BODY_UNSUPPORTED);
  CHECK_EQ_INT(core_bundle_sniff(NULL, 0), CORE_BODY_UNSUPPORTED);
}

RUN_TESTS(good_bundles_every_format, one_top_level_directory_is_stripped, hostile_entries_refused,
          missing_or_bad_main_wasm, limits_counted_from_the_bytes, corrupt_archives,
          kinds_and_magic)
