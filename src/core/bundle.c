/*
 * bundle: a deploy's body as an archive (.tar.gz, .tar, .zip) holding
 * main.wasm and the function's own read-only files.
 *
 * The whole archive is read from memory by libarchive and checked before
 * anything is written: every entry's name (relative, no "..", no control
 * bytes, valid UTF-8), its type (regular files and directories only), and
 * the sizes, counted as the bytes come out of the decompressor (declared
 * sizes are never trusted: a zip bomb stops at the limit). What passes is
 * handed to the store (mote_store_deploy) in one piece, so a refused bundle
 * leaves nothing behind and the old version keeps serving.
 *
 * Symlinks are refused, all of them, not only those leading out: the store
 * keeps regular files (mote_store_file has no link kind), the files are
 * read-only, so a copy serves a guest as well as a link would, and a bundle
 * with no links at all cannot be made to point anywhere later. Hard links are
 * refused for the same reason (`tar --hard-dereference` makes copies).
 *
 * Empty directories are accepted but not kept: the store records files, and
 * every directory that holds one is made again as its parent.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/utf8.h"
#include "core/core.h"

/* ---- what the body is ------------------------------------------------------ */

core_body_kind core_bundle_kind_of_type(const char *content_type) {
  static const struct {
    const char *type;
    core_body_kind kind;
  } types[] = {
      {"application/wasm", CORE_BODY_WASM},
      {"application/gzip", CORE_BODY_TAR_GZ},
      {"application/x-gzip", CORE_BODY_TAR_GZ},
      {"application/x-tar", CORE_BODY_TAR},
      {"application/zip", CORE_BODY_ZIP},
      {"application/x-zip-compressed", CORE_BODY_ZIP},
      {"application/octet-stream", CORE_BODY_SNIFF},
  };
  if (!content_type) return CORE_BODY_UNSUPPORTED;
  size_t len = strcspn(content_type, "; \t"); /* parameters do not matter */
  for (size_t i = 0; i < sizeof types / sizeof *types; i++)
    if (strlen(types[i].type) == len && !strncasecmp(content_type, types[i].type, len))
      return types[i].kind;
  return CORE_BODY_UNSUPPORTED;
}

core_body_kind core_bundle_sniff(const uint8_t *p, size_t n) {
  if (n >= 4 && !memcmp(p, "\0asm", 4)) return CORE_BODY_WASM;
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return CORE_BODY_TAR_GZ;
  if (n >= 4 && (!memcmp(p, "PK\3\4", 4) || !memcmp(p, "PK\5\6", 4))) return CORE_BODY_ZIP;
  if (n >= 262 && !memcmp(p + 257, "ustar", 5)) return CORE_BODY_TAR;
  return CORE_BODY_UNSUPPORTED;
}

/* ---- reading the archive -------------------------------------------------- */

typedef struct entry {
  char *path;   /* normalised: components joined by '/', from malloc */
  bool is_dir;
  uint8_t *data; /* files: from malloc (NULL when empty) */
  size_t len;
} entry;

typedef struct reader {
  entry *e;
  size_t n, cap;
  uint64_t total; /* bytes of every file so far, main.wasm included */
  char *msg;
  size_t msg_cap;
} reader;

/* A name as it can be shown in a message: control bytes (and, for a name
 * that is not UTF-8, every byte >= 0x80) as \xNN, cut after ~200 bytes. */
static void quote_name(const char *name, char *out, size_t cap) {
  size_t n = strlen(name), o = 0;
  bool utf8 = utf8_valid((const uint8_t *)name, n);
  for (size_t i = 0; i < n && o + 8 < cap; i++) {
    unsigned char b = (unsigned char)name[i];
    if (i == 200) {
      o += (size_t)snprintf(out + o, cap - o, "...");
      break;
    }
    if (b < 0x20 || b == 0x7f || (b >= 0x80 && !utf8))
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", b);
    else
      out[o++] = (char)b;
  }
  out[o] = '\0';
}

static bool refuse(reader *rd, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool refuse(reader *rd, const char *name, const char *fmt, ...) {
  char q[1024], why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (name) {
    quote_name(name, q, sizeof q);
    snprintf(rd->msg, rd->msg_cap, "bundle entry \"%s\": %s", q, why);
  } else {
    snprintf(rd->msg, rd->msg_cap, "bundle: %s", why);
  }
  return false;
}

/* Checks a raw entry name and writes its normalised form (empty and "."
 * components dropped, so "./a//b" is "a/b"; "" is the root itself). */
static bool normalise(reader *rd, const char *raw, char *out, size_t cap) {
  size_t n = strlen(raw);
  if (n == 0) return refuse(rd, raw, "an empty name");
  for (size_t i = 0; i < n; i++) {
    unsigned char b = (unsigned char)raw[i];
    if (b < 0x20 || b == 0x7f)
      return refuse(rd, raw, "a control byte (0x%02x) in the name: use plain file names", b);
  }
  if (!utf8_valid((const uint8_t *)raw, n))
    return refuse(rd, raw, "the name is not UTF-8");
  if (raw[0] == '/')
    return refuse(rd, raw, "an absolute path: entries must be relative to the bundle's root");
  size_t o = 0;
  for (const char *c = raw; *c;) {
    size_t len = strcspn(c, "/");
    if (len == 2 && c[0] == '.' && c[1] == '.')
      return refuse(rd, raw, "a \"..\" component would lead out of the bundle");
    if (len > 0 && !(len == 1 && c[0] == '.')) {
      if (o + len + 2 > cap || o + len + 1 > CORE_BUNDLE_MAX_PATH)
        return refuse(rd, raw, "the path is longer than %d bytes", CORE_BUNDLE_MAX_PATH);
      if (o) out[o++] = '/';
      memcpy(out + o, c, len);
      o += len;
    }
    c += len;
    if (*c == '/') c++;
  }
  out[o] = '\0';
  return true;
}

static const char *type_name(unsigned type) {
  switch (type) {
    case AE_IFCHR: return "a character device";
    case AE_IFBLK: return "a block device";
    case AE_IFIFO: return "a FIFO";
    case AE_IFSOCK: return "a socket";
    default: return "an entry of an unknown type";
  }
}

/* Reads the current entry's data, counting what actually comes out. */
static bool read_data(reader *rd, struct archive *a, const char *name, entry *e) {
  size_t cap = 0;
  for (;;) {
    if (e->len == cap) {
      if (cap > CORE_BUNDLE_MAX_FILE) break; /* over: refused below */
      size_t want = cap ? cap * 2 : 16384;
      if (want > (size_t)CORE_BUNDLE_MAX_FILE + 1) want = (size_t)CORE_BUNDLE_MAX_FILE + 1;
      uint8_t *grown = realloc(e->data, want);
      if (!grown) return refuse(rd, name, "out of memory while extracting it");
      e->data = grown;
      cap = want;
    }
    la_ssize_t got = archive_read_data(a, e->data + e->len, cap - e->len);
    if (got < 0)
      return refuse(rd, name, "cannot extract: %s (a corrupt or unsupported archive?)",
                    archive_error_string(a) ? archive_error_string(a) : "unknown error");
    if (got == 0) break;
    e->len += (size_t)got;
    if (e->len > CORE_BUNDLE_MAX_FILE || rd->total + e->len > CORE_BUNDLE_MAX_TOTAL) break;
  }
  if (e->len > CORE_BUNDLE_MAX_FILE)
    return refuse(rd, name, "larger than the limit of %u bytes per file", CORE_BUNDLE_MAX_FILE);
  if (rd->total + e->len > CORE_BUNDLE_MAX_TOTAL)
    return refuse(rd, name, "the files add up to more than the limit of %u bytes",
                  CORE_BUNDLE_MAX_TOTAL);
  rd->total += e->len;
  return true;
}

/* One entry: its name, its type, its data. */
static bool read_entry(reader *rd, struct archive *a, struct archive_entry *ae) {
  /* The UTF-8 form when the archive says what its names are (zip's flag,
   * pax); else the raw bytes, which normalise() requires to be UTF-8. */
  const char *raw = archive_entry_pathname_utf8(ae);
  if (!raw) raw = archive_entry_pathname(ae);
  if (!raw) return refuse(rd, NULL, "an entry has no readable name");
  char path[CORE_BUNDLE_MAX_PATH + 2];
  if (!normalise(rd, raw, path, sizeof path)) return false;
  if (archive_entry_hardlink(ae))
    return refuse(rd, raw, "a hard link: bundles hold regular files and directories only "
                  "(make copies, e.g. tar --hard-dereference)");
  unsigned type = archive_entry_filetype(ae);
  if (type == AE_IFLNK)
    return refuse(rd, raw, "a symlink: bundles hold regular files and directories only "
                  "(make copies, e.g. tar --dereference or zip without --symlinks)");
  if (type != AE_IFREG && type != AE_IFDIR)
    return refuse(rd, raw, "%s: bundles hold regular files and directories only",
                  type_name(type));
  if (!path[0]) {
    if (type == AE_IFDIR) return true; /* "./": the root itself */
    return refuse(rd, raw, "a file with no name");
  }
  if (rd->n == rd->cap) {
    size_t want = rd->cap ? rd->cap * 2 : 64;
    entry *grown = realloc(rd->e, want * sizeof *grown);
    if (!grown) return refuse(rd, raw, "out of memory");
    rd->e = grown;
    rd->cap = want;
  }
  entry *e = &rd->e[rd->n];
  memset(e, 0, sizeof *e);
  e->is_dir = type == AE_IFDIR;
  e->path = strdup(path);
  if (!e->path) return refuse(rd, raw, "out of memory");
  rd->n++; /* owned by rd from here, whatever follows */
  return e->is_dir || read_data(rd, a, raw, e);
}

static int cmp_entry(const void *x, const void *y) {
  return strcmp(((const entry *)x)->path, ((const entry *)y)->path);
}

/* `tar czf x.tgz dir/` wraps everything in one directory: when every entry
 * lies under one top-level directory, that directory becomes the root. */
static void strip_single_top(reader *rd) {
  if (rd->n == 0) return;
  const char *first = rd->e[0].path;
  size_t top = strcspn(first, "/");
  for (size_t i = 0; i < rd->n; i++) {
    const entry *e = &rd->e[i];
    if (strncmp(e->path, first, top) != 0) return;
    if (e->path[top] == '\0' && !e->is_dir) return; /* a file, not a directory */
    if (e->path[top] != '\0' && e->path[top] != '/') return;
  }
  size_t kept = 0;
  for (size_t i = 0; i < rd->n; i++) {
    entry *e = &rd->e[i];
    if (e->path[top] == '\0') { /* the directory itself */
      free(e->path);
      free(e->data);
      continue;
    }
    memmove(e->path, e->path + top + 1, strlen(e->path + top + 1) + 1);
    rd->e[kept++] = *e;
  }
  rd->n = kept;
}

/* After sorting: no name twice, no file where another entry needs a directory. */
static bool check_tree(reader *rd) {
  for (size_t i = 1; i < rd->n; i++)
    if (!strcmp(rd->e[i - 1].path, rd->e[i].path))
      return refuse(rd, rd->e[i].path, "appears twice in the bundle");
  for (size_t i = 0; i < rd->n; i++) {
    char prefix[CORE_BUNDLE_MAX_PATH + 2];
    const char *p = rd->e[i].path;
    for (const char *slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
      memcpy(prefix, p, (size_t)(slash - p));
      prefix[slash - p] = '\0';
      entry key = {.path = prefix};
      const entry *parent = bsearch(&key, rd->e, rd->n, sizeof *rd->e, cmp_entry);
      if (parent && !parent->is_dir)
        return refuse(rd, p, "lies under \"%s\", which is a file in the bundle", prefix);
    }
  }
  return true;
}

static void reader_free(reader *rd) {
  for (size_t i = 0; i < rd->n; i++) {
    free(rd->e[i].path);
    free(rd->e[i].data);
  }
  free(rd->e);
  rd->e = NULL;
  rd->n = rd->cap = 0;
}

/* A few top-level names (directories with a '/'), for the message about a
 * missing main.wasm. */
static void top_level_names(const reader *rd, char *out, size_t cap) {
  char shown[4][128];
  size_t nshown = 0, o = 0;
  out[0] = '\0';
  for (size_t i = 0; i < rd->n && nshown < 4; i++) {
    const char *p = rd->e[i].path;
    size_t top = strcspn(p, "/");
    char name[128];
    snprintf(name, sizeof name, "%.*s%s", (int)(top < 100 ? top : 100), p,
             p[top] == '/' || rd->e[i].is_dir ? "/" : "");
    bool seen = false;
    for (size_t k = 0; k < nshown; k++) seen |= !strcmp(shown[k], name);
    if (seen) continue;
    memcpy(shown[nshown++], name, sizeof name);
    char q[512];
    quote_name(name, q, sizeof q);
    o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s", nshown > 1 ? ", " : "", q);
    if (o >= cap) break;
  }
  if (!nshown) snprintf(out, cap, "nothing");
}

bool core_bundle_extract(const uint8_t *body, size_t len, core_body_kind kind, core_bundle *out,
                    char *msg, size_t cap) {
  memset(out, 0, sizeof *out);
  reader rd = {.msg = msg, .msg_cap = cap};
  bool ok = false;
  struct archive *a = archive_read_new();
  if (!a) {
    snprintf(msg, cap, "out of memory");
    return false;
  }
  /* Only the formats the Content-Type names: a .zip sent as gzip is refused
   * rather than guessed at. */
  if (kind == CORE_BODY_ZIP) {
    /* The seekable reader (the body is in memory) trusts the central
     * directory, the listing every zip tool writes last. */
    archive_read_support_format_zip_seekable(a);
  } else {
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
  }
  if (archive_read_open_memory(a, body, len) != ARCHIVE_OK) {
    refuse(&rd, NULL, "not a readable %s archive: %s", kind == CORE_BODY_ZIP ? "zip" : "tar",
           archive_error_string(a) ? archive_error_string(a) : "unknown error");
    goto done;
  }
  if (kind == CORE_BODY_TAR_GZ && archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
    refuse(&rd, NULL, "the body was sent as gzip but is not gzip-compressed");
    goto done;
  }
  size_t entries = 0;
  for (;;) {
    struct archive_entry *ae;
    int rc = archive_read_next_header(a, &ae);
    if (rc == ARCHIVE_EOF) break;
    /* WARN is a header libarchive read but found odd (an unknown pax
     * keyword): the entry itself is usable. RETRY and FATAL are not. */
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      refuse(&rd, NULL, "a corrupt archive after %zu entries: %s", entries,
             archive_error_string(a) ? archive_error_string(a) : "unknown error");
      goto done;
    }
    if (++entries > CORE_BUNDLE_MAX_ENTRIES) {
      refuse(&rd, NULL, "more than %d entries (files and directories)", CORE_BUNDLE_MAX_ENTRIES);
      goto done;
    }
    if (!read_entry(&rd, a, ae)) goto done;
  }

  if (rd.n) qsort(rd.e, rd.n, sizeof *rd.e, cmp_entry); /* never with NULL */
  strip_single_top(&rd); /* keeps the order: one common prefix removed */
  if (!check_tree(&rd)) goto done;
  entry key = {.path = (char *)CORE_BUNDLE_MODULE};
  entry *main_wasm = rd.n ? bsearch(&key, rd.e, rd.n, sizeof *rd.e, cmp_entry) : NULL;
  if (!main_wasm || main_wasm->is_dir) {
    char names[600];
    top_level_names(&rd, names, sizeof names);
    refuse(&rd, NULL, "no file %s at the root of the bundle (found %s): put the module "
           "there, or wrap everything in one directory", CORE_BUNDLE_MODULE, names);
    goto done;
  }
  if (main_wasm->len == 0) {
    refuse(&rd, CORE_BUNDLE_MODULE, "the module is empty");
    goto done;
  }
  if (main_wasm->len > CORE_MAX_MODULE) {
    refuse(&rd, CORE_BUNDLE_MODULE, "the module is larger than the limit of %u bytes",
           CORE_MAX_MODULE);
    goto done;
  }

  /* Hand over: main.wasm, then every other file; directories are implied. */
  size_t nfiles = 0;
  for (size_t i = 0; i < rd.n; i++) nfiles += !rd.e[i].is_dir && &rd.e[i] != main_wasm;
  out->files = nfiles ? calloc(nfiles, sizeof *out->files) : NULL;
  if (nfiles && !out->files) {
    snprintf(msg, cap, "out of memory");
    goto done;
  }
  out->module = main_wasm->data;
  out->module_len = main_wasm->len;
  main_wasm->data = NULL;
  for (size_t i = 0; i < rd.n; i++) {
    entry *e = &rd.e[i];
    if (e->is_dir || e == main_wasm) continue;
    out->files[out->nfiles++] = (mote_store_file){.path = e->path, .data = e->data, .len = e->len};
    out->files_bytes += e->len;
    e->path = NULL; /* out owns them now */
    e->data = NULL;
  }
  ok = true;
done:
  archive_read_free(a);
  reader_free(&rd);
  if (!ok) core_bundle_free(out);
  return ok;
}

void core_bundle_free(core_bundle *b) {
  for (size_t i = 0; i < b->nfiles; i++) {
    free((char *)b->files[i].path);
    free((uint8_t *)b->files[i].data);
  }
  free(b->files);
  free(b->module);
  memset(b, 0, sizeof *b);
}
