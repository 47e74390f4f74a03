/*
 * store: activation records.
 *
 * One row per invocation, written at up to thousands per second from many
 * threads: one prepared INSERT on the writer connection under write_lock, in
 * autocommit with synchronous=NORMAL (WAL): the row survives a crash of the
 * process, and a power cut may lose the last moments of records, which is
 * acceptable for records (nobody was told "stored"); deploys pay for FULL.
 *
 * Puts from concurrent threads share commits (group commit, see
 * mote_store_activation_put).
 *
 * Retention is cheap: the store keeps each function's row count in memory
 * (read once per (namespace, function) with count(*) on first put after
 * open) and, when a commit takes the count past retain + retain/16, deletes
 * the oldest rows down to `retain` in the same transaction through the
 * (namespace, function, start_ms) index: one index seek and a range delete
 * every retain/16 puts of a function, never a scan. Trimming on every put instead (exact) costs a
 * second set of dirty pages per commit (the deletes hit the index's left
 * edge): measured 6.1k puts/s without trimming vs 3.4k with a trim per put,
 * on one thread. Below retain 16 the trim is exact.
 * The counts assume this store is the only writer of activations in the
 * directory (one server per data directory); another writer makes them drift
 * (retention then keeps a few rows more or less until the next open).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* A function may hold up to retain + retain/RETAIN_SLACK_DIV records. */
#define RETAIN_SLACK_DIV 16

static bool valid_id(const char *id) {
  return strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32;
}

/* Time first (48 bits of Unix milliseconds), then 80 random bits: ids of one
 * moment sort together, so the id index grows at its right edge instead of
 * dirtying a random page per record once the table outgrows the page cache
 * (at 30k rows the difference was within noise). */
void mote_store_activation_new_id(char out[33]) {
  static const char digits[] = "0123456789abcdef";
  unsigned char raw[16];
  uint64_t ms = (uint64_t)store_now_ms();
  for (int i = 0; i < 6; i++) raw[i] = (unsigned char)(ms >> (8 * (5 - i)));
  randombytes_buf(raw + 6, sizeof raw - 6);
  for (int i = 0; i < 16; i++) {
    out[2 * i] = digits[raw[i] >> 4];
    out[2 * i + 1] = digits[raw[i] & 15];
  }
  out[32] = 0;
}

void mote_activation_clear(mote_activation *a) {
  if (!a) return;
  free(a->function);
  free(a->ns);
  free(a->meta);
  free(a->outcome);
  free(a->stdout_excerpt);
  free(a->stderr_excerpt);
  memset(a, 0, sizeof *a);
}

/* --- per-function counts (caller holds write_lock), keyed "ns/function" --- */

/* The key of a record's function; false when it does not fit (names are
 * checked before: it always does). */
static bool count_key(const mote_activation *a, char out[2 * MOTE_STORE_NS_MAX + 2]) {
  int n = snprintf(out, 2 * MOTE_STORE_NS_MAX + 2, "%s/%s", a->ns ? a->ns : MOTE_STORE_DEFAULT_NS,
                   a->function);
  return n > 0 && n < 2 * MOTE_STORE_NS_MAX + 2;
}

static const char *record_ns(const mote_activation *a) {
  return a->ns ? a->ns : MOTE_STORE_DEFAULT_NS;
}

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static act_count *count_find(mote_store *s, const char *function) {
  if (!s->counts_cap) return NULL;
  for (size_t i = hash_name(function) & (s->counts_cap - 1);; i = (i + 1) & (s->counts_cap - 1)) {
    if (!s->counts[i].function) return NULL;
    if (strcmp(s->counts[i].function, function) == 0) return &s->counts[i];
  }
}

/* Adds an entry (known absent); NULL on out of memory. */
static act_count *count_add(mote_store *s, const char *function, int64_t count) {
  if ((s->counts_used + 1) * 2 > s->counts_cap) {
    size_t ncap = s->counts_cap ? 2 * s->counts_cap : 64;
    act_count *grown = calloc(ncap, sizeof *grown);
    if (!grown) return NULL;
    for (size_t i = 0; i < s->counts_cap; i++) {
      if (!s->counts[i].function) continue;
      size_t j = hash_name(s->counts[i].function) & (ncap - 1);
      while (grown[j].function) j = (j + 1) & (ncap - 1);
      grown[j] = s->counts[i];
    }
    free(s->counts);
    s->counts = grown;
    s->counts_cap = ncap;
  }
  char *copy = strdup(function);
  if (!copy) return NULL;
  size_t i = hash_name(function) & (s->counts_cap - 1);
  while (s->counts[i].function) i = (i + 1) & (s->counts_cap - 1);
  s->counts[i].function = copy;
  s->counts[i].count = count;
  s->counts_used++;
  return &s->counts[i];
}

/* --- excerpts --- */

/* The first at most `cap` bytes of `s`, not cutting a UTF-8 sequence. */
static size_t head_len(const char *s, size_t cap) {
  size_t n = strlen(s);
  if (n <= cap) return n;
  n = cap;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  return n;
}

/* Offset of the last at most `cap` bytes of `s`, starting on a UTF-8 boundary. */
static size_t tail_start(const char *s, size_t cap) {
  size_t n = strlen(s);
  if (n <= cap) return 0;
  size_t off = n - cap;
  while (s[off] && ((unsigned char)s[off] & 0xC0) == 0x80) off++;
  return off;
}

static void bind_text_n(sqlite3_stmt *q, int i, const char *text, size_t n) {
  if (text)
    sqlite3_bind_text(q, i, text, (int)n, SQLITE_STATIC);
  else
    sqlite3_bind_null(q, i);
}

/* Forgets every count (they are read again on the next put of each function):
 * after a failed batch, whose rows are not in the table. */
static void counts_forget(mote_store *s) {
  for (size_t i = 0; i < s->counts_cap; i++) free(s->counts[i].function);
  free(s->counts);
  s->counts = NULL;
  s->counts_cap = s->counts_used = 0;
}

/* The count of a record's function, read from the table on first use;
 * NULL on failure. */
static act_count *count_get(mote_store *s, const mote_activation *a, mote_store_error *err) {
  char key[2 * MOTE_STORE_NS_MAX + 2];
  if (!count_key(a, key)) {
    store_fail(err, MOTE_STORE_INVALID, "activation %s: its names are too long", a->id);
    return NULL;
  }
  act_count *ac = count_find(s, key);
  if (ac) return ac;
  store_conn *w = &s->writer;
  sqlite3_stmt *q = store_stmt(w, ST_ACT_COUNT);
  if (!q) {
    store_db_fail(err, w->db, "counting activations");
    return NULL;
  }
  sqlite3_bind_text(q, 1, record_ns(a), -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, a->function, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
  sqlite3_reset(q);
  if (n < 0) {
    store_db_fail(err, w->db, "counting activations");
    return NULL;
  }
  if (!(ac = count_add(s, key, n))) store_fail(err, MOTE_STORE_IO, "out of memory");
  return ac;
}

/* Inserts one record (inside the batch's transaction). A record the table
 * refuses (a duplicate id) fails alone; any other error fails the batch. */
static mote_store_status insert_one(mote_store *s, const mote_activation *a, uint32_t retain,
                                    bool *batch_failed, mote_store_error *err) {
  store_conn *w = &s->writer;
  act_count *ac = count_get(s, a, err);
  if (!ac) {
    *batch_failed = true;
    return MOTE_STORE_IO;
  }
  sqlite3_stmt *q = store_stmt(w, ST_ACT_INSERT);
  if (!q) {
    *batch_failed = true;
    return store_db_fail(err, w->db, "recording an activation");
  }
  sqlite3_bind_text(q, 1, a->id, 32, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, a->function, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, (int64_t)a->version);
  sqlite3_bind_int64(q, 4, a->start_ms);
  sqlite3_bind_int64(q, 5, (int64_t)a->wait_us);
  sqlite3_bind_int64(q, 6, (int64_t)a->init_us);
  sqlite3_bind_int64(q, 7, (int64_t)a->exec_us);
  sqlite3_bind_int(q, 8, a->http_status);
  sqlite3_bind_int(q, 9, a->exit_code);
  bind_text_n(q, 10, a->outcome, a->outcome ? head_len(a->outcome, MOTE_STORE_EXCERPT_MAX) : 0);
  bind_text_n(q, 11, a->stdout_excerpt,
              a->stdout_excerpt ? head_len(a->stdout_excerpt, MOTE_STORE_EXCERPT_MAX) : 0);
  if (a->stderr_excerpt) {
    size_t off = tail_start(a->stderr_excerpt, MOTE_STORE_EXCERPT_MAX);
    bind_text_n(q, 12, a->stderr_excerpt + off, strlen(a->stderr_excerpt + off));
  }
  sqlite3_bind_text(q, 13, record_ns(a), -1, SQLITE_STATIC);
  bind_text_n(q, 14, a->meta, a->meta ? strlen(a->meta) : 0);
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc == SQLITE_CONSTRAINT)
    return store_fail(err, MOTE_STORE_INVALID, "activation %s is already recorded", a->id);
  if (rc != SQLITE_DONE) {
    *batch_failed = true;
    return store_db_fail(err, w->db, "recording an activation");
  }
  ac->count++;
  ac->retain = retain;
  ac->touched = true;
  return MOTE_STORE_OK;
}

/* Trims every function the batch touched to its retain. */
static mote_store_status trim_touched(mote_store *s, act_waiter *batch, mote_store_error *err) {
  store_conn *w = &s->writer;
  mote_store_status st = MOTE_STORE_OK;
  for (act_waiter *b = batch; b; b = b->next) {
    char key[2 * MOTE_STORE_NS_MAX + 2];
    act_count *ac = count_key(b->a, key) ? count_find(s, key) : NULL;
    if (!ac || !ac->touched) continue;
    ac->touched = false;
    int64_t excess = ac->retain > 0 ? ac->count - (int64_t)ac->retain : 0;
    if (excess <= (int64_t)(ac->retain / RETAIN_SLACK_DIV) || st != MOTE_STORE_OK) continue;
    sqlite3_stmt *q = store_stmt(w, ST_ACT_TRIM);
    if (!q) {
      st = store_db_fail(err, w->db, "trimming activations");
      continue;
    }
    sqlite3_bind_text(q, 1, record_ns(b->a), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, b->a->function, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, excess);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
      st = store_db_fail(err, w->db, "trimming activations");
    else
      ac->count -= sqlite3_changes(w->db);
  }
  return st;
}

/* Writes a batch of queued records in one transaction; fills each status. */
void store_act_commit_batch(mote_store *s, act_waiter *batch) {
  store_conn *w = &s->writer;
  mote_store_error err;
  bool failed = false;
  pthread_mutex_lock(&s->write_lock);
  if (store_exec(w->db, "BEGIN IMMEDIATE") != SQLITE_OK) {
    store_db_fail(&err, w->db, "recording activations");
    failed = true;
  }
  for (act_waiter *b = batch; b && !failed; b = b->next) {
    mote_store_error one;
    store_ok(&one);
    b->status = insert_one(s, b->a, b->retain, &failed, &one);
    snprintf(b->message, sizeof b->message, "%s", one.message);
    if (failed) err = one;
  }
  if (!failed && trim_touched(s, batch, &err) != MOTE_STORE_OK) failed = true;
  if (!failed && store_exec(w->db, "COMMIT") != SQLITE_OK) {
    store_db_fail(&err, w->db, "committing activations");
    failed = true;
  }
  if (failed) {
    if (!sqlite3_get_autocommit(w->db)) store_exec(w->db, "ROLLBACK");
    counts_forget(s);
    for (act_waiter *b = batch; b; b = b->next) {
      b->status = MOTE_STORE_IO;
      snprintf(b->message, sizeof b->message, "%s", err.message);
    }
  }
  pthread_mutex_unlock(&s->write_lock);
}

/*
 * Group commit: a put queues its record; if no thread is committing, it
 * becomes the leader, takes the whole queue and writes it in one transaction
 * (one WAL append), then wakes the others. Records that arrive while a commit
 * runs share the next one; alone, a put costs one commit. No put waits for
 * company (that would delay the reply the server sends after it), and each
 * returns only when its record is committed (or refused). Measured on the
 * 2-vCPU VM: a commit costs ~50 us of CPU, an insert in a batch ~15 us;
 * with 16 threads putting in a loop batches averaged 2 records (the CPUs,
 * not the commits, were the limit).
 */
mote_store_status store_act_check(const mote_activation *a, mote_store_error *err) {
  if (!mote_store_valid_name(a->function))
    return store_fail(err, MOTE_STORE_INVALID, "activation of an invalid function name \"%.80s\"",
                      a->function ? a->function : "(null)");
  if (!valid_id(a->id))
    return store_fail(err, MOTE_STORE_INVALID,
                      "invalid activation id \"%.40s\": expected 32 lowercase hex digits", a->id);
  if (a->ns && !mote_store_valid_name(a->ns))
    return store_fail(err, MOTE_STORE_INVALID, "activation %s: invalid namespace \"%.80s\"",
                      a->id, a->ns);
  if (a->meta && strlen(a->meta) > MOTE_STORE_META_MAX)
    return store_fail(err, MOTE_STORE_INVALID, "activation %s: its meta text is longer than %u "
                      "bytes", a->id, MOTE_STORE_META_MAX);
  return MOTE_STORE_OK;
}

mote_store_status mote_store_activation_put(mote_store *s, const mote_activation *a,
                                            uint32_t retain, mote_store_error *err) {
  store_ok(err);
  mote_store_status cst = store_act_check(a, err);
  if (cst != MOTE_STORE_OK) return cst;
  act_waiter me = {.a = a, .retain = retain};
  pthread_mutex_lock(&s->act_lock);
  if (s->act_tail)
    s->act_tail->next = &me;
  else
    s->act_head = &me;
  s->act_tail = &me;
  while (!me.done && s->act_leader) pthread_cond_wait(&s->act_done, &s->act_lock);
  if (!me.done) {
    /* Lead: our record is in the queue, which is taken whole. */
    act_waiter *batch = s->act_head;
    s->act_head = s->act_tail = NULL;
    s->act_leader = true;
    pthread_mutex_unlock(&s->act_lock);
    store_act_commit_batch(s, batch);
    pthread_mutex_lock(&s->act_lock);
    for (act_waiter *b = batch, *next; b; b = next) {
      next = b->next; /* read before `done`: the waiter's frame may go at once */
      b->done = true;
    }
    s->act_leader = false;
    pthread_cond_broadcast(&s->act_done);
  }
  pthread_mutex_unlock(&s->act_lock);
  if (me.status != MOTE_STORE_OK) store_fail(err, me.status, "%s", me.message);
  return me.status;
}

static mote_store_status row_to_activation(sqlite3_stmt *q, mote_activation *out,
                                           mote_store_error *err) {
  memset(out, 0, sizeof *out);
  const char *id = (const char *)sqlite3_column_text(q, 0);
  snprintf(out->id, sizeof out->id, "%s", id ? id : "");
  const char *text;
  bool oom = false;
#define COPY_TEXT(field, col)                                           \
  text = (const char *)sqlite3_column_text(q, col);                     \
  if (text && !(out->field = strdup(text))) oom = true;
  COPY_TEXT(function, 1)
  COPY_TEXT(outcome, 9)
  COPY_TEXT(stdout_excerpt, 10)
  COPY_TEXT(stderr_excerpt, 11)
  COPY_TEXT(meta, 13)
#undef COPY_TEXT
  text = (const char *)sqlite3_column_text(q, 12);
  if (!(out->ns = strdup(text ? text : MOTE_STORE_DEFAULT_NS))) oom = true;
  out->version = (uint64_t)sqlite3_column_int64(q, 2);
  out->start_ms = sqlite3_column_int64(q, 3);
  out->wait_us = (uint64_t)sqlite3_column_int64(q, 4);
  out->init_us = (uint64_t)sqlite3_column_int64(q, 5);
  out->exec_us = (uint64_t)sqlite3_column_int64(q, 6);
  out->http_status = sqlite3_column_int(q, 7);
  out->exit_code = sqlite3_column_int(q, 8);
  if (oom || !out->function) {
    mote_activation_clear(out);
    return store_fail(err, MOTE_STORE_IO, "out of memory");
  }
  return MOTE_STORE_OK;
}

mote_store_status mote_store_activation_get(mote_store *s, const char *ns, const char *id,
                                            mote_activation *out, mote_store_error *err) {
  store_ok(err);
  memset(out, 0, sizeof *out);
  mote_store_activation_sync(s);
  if (!id || !valid_id(id))
    return store_fail(err, MOTE_STORE_INVALID,
                      "invalid activation id \"%.40s\": expected 32 lowercase hex digits",
                      id ? id : "(null)");
  if (ns && !mote_store_valid_name(ns))
    return store_fail(err, MOTE_STORE_INVALID, "invalid namespace \"%.80s\"", ns);
  store_conn *c = store_reader_take(s, err);
  if (!c) return MOTE_STORE_IO;
  mote_store_status st;
  sqlite3_stmt *q = store_stmt(c, ns ? ST_ACT_GET_NS : ST_ACT_GET);
  if (!q) {
    st = store_db_fail(err, c->db, "looking up an activation");
    goto out;
  }
  sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
  if (ns) sqlite3_bind_text(q, 2, ns, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  if (rc == SQLITE_ROW)
    st = row_to_activation(q, out, err);
  else if (rc == SQLITE_DONE)
    st = store_fail(err, MOTE_STORE_NOT_FOUND, "activation %s not found", id);
  else
    st = store_db_fail(err, c->db, "looking up an activation");
  sqlite3_reset(q);
out:
  store_reader_give(s, c);
  return st;
}

mote_store_status mote_store_activation_list(mote_store *s, const char *ns, const char *function,
                                             int64_t since_ms, uint32_t limit,
                                             mote_activation **out, size_t *count,
                                             mote_store_error *err) {
  mote_activation_filter f = {.ns = ns, .function = function, .since_ms = since_ms,
                              .limit = limit};
  return mote_store_activation_query(s, &f, out, count, err);
}

mote_store_status mote_store_activation_count(mote_store *s, const mote_activation_filter *f,
                                              uint64_t *count, mote_store_error *err) {
  store_ok(err);
  *count = 0;
  mote_store_activation_sync(s);
  if (f->function && !mote_store_valid_name(f->function))
    return store_fail(err, MOTE_STORE_INVALID, "invalid name \"%.80s\"", f->function);
  if (f->ns && !mote_store_valid_name(f->ns))
    return store_fail(err, MOTE_STORE_INVALID, "invalid namespace \"%.80s\"", f->ns);
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM activations WHERE %s%sstart_ms >= ?2 AND start_ms <= ?5",
           f->ns ? "namespace = ?4 AND " : "", f->function ? "function = ?1 AND " : "");
  store_conn *c = store_reader_take(s, err);
  if (!c) return MOTE_STORE_IO;
  sqlite3_stmt *q = NULL;
  mote_store_status st = MOTE_STORE_OK;
  if (sqlite3_prepare_v2(c->db, sql, -1, &q, NULL) != SQLITE_OK) {
    st = store_db_fail(err, c->db, "counting activations");
  } else {
    if (f->function) sqlite3_bind_text(q, 1, f->function, -1, SQLITE_STATIC);
    if (f->ns) sqlite3_bind_text(q, 4, f->ns, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, f->since_ms);
    sqlite3_bind_int64(q, 5, f->upto_ms ? f->upto_ms : INT64_MAX);
    if (sqlite3_step(q) == SQLITE_ROW) {
      int64_t n = sqlite3_column_int64(q, 0);
      uint64_t skip = f->skip, all = n > 0 ? (uint64_t)n : 0;
      all = all > skip ? all - skip : 0;
      *count = f->limit && all > f->limit ? f->limit : all;
    } else {
      st = store_db_fail(err, c->db, "counting activations");
    }
  }
  sqlite3_finalize(q);
  store_reader_give(s, c);
  return st;
}

mote_store_status mote_store_activation_query(mote_store *s, const mote_activation_filter *f,
                                              mote_activation **out, size_t *count,
                                              mote_store_error *err) {
  const char *ns = f->ns, *function = f->function;
  store_ok(err);
  *out = NULL;
  *count = 0;
  mote_store_activation_sync(s);
  if (function && !mote_store_valid_name(function))
    return store_fail(err, MOTE_STORE_INVALID,
                      "invalid name \"%.80s\": use 1 to 64 characters of A-Z a-z 0-9 _ . -, "
                      "not starting with '.' or '-'",
                      function);
  if (ns && !mote_store_valid_name(ns))
    return store_fail(err, MOTE_STORE_INVALID, "invalid namespace \"%.80s\"", ns);
  store_conn *c = store_reader_take(s, err);
  if (!c) return MOTE_STORE_IO;
  mote_store_status st = MOTE_STORE_OK;
  mote_activation *list = NULL;
  size_t n = 0, cap = 0;
  stmt_id id = ns ? (function ? ST_ACT_LIST_NS_FN : ST_ACT_LIST_NS)
                  : (function ? ST_ACT_LIST_FN : ST_ACT_LIST_ALL);
  sqlite3_stmt *q = store_stmt(c, id);
  if (!q) {
    st = store_db_fail(err, c->db, "listing activations");
    goto out;
  }
  if (function) sqlite3_bind_text(q, 1, function, -1, SQLITE_STATIC);
  if (ns) sqlite3_bind_text(q, 4, ns, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, f->since_ms);
  sqlite3_bind_int64(q, 3, f->limit ? (int64_t)f->limit : -1);
  sqlite3_bind_int64(q, 5, f->upto_ms ? f->upto_ms : INT64_MAX);
  sqlite3_bind_int64(q, 6, (int64_t)f->skip);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 32;
      mote_activation *grown = realloc(list, ncap * sizeof *grown);
      if (!grown) {
        st = store_fail(err, MOTE_STORE_IO, "out of memory");
        break;
      }
      list = grown;
      cap = ncap;
    }
    if ((st = row_to_activation(q, &list[n], err)) != MOTE_STORE_OK) break;
    n++;
  }
  if (st == MOTE_STORE_OK && rc != SQLITE_DONE)
    st = store_db_fail(err, c->db, "listing activations");
  sqlite3_reset(q);
out:
  store_reader_give(s, c);
  if (st != MOTE_STORE_OK) {
    for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
    free(list);
    return st;
  }
  *out = list;
  *count = n;
  return MOTE_STORE_OK;
}
