/*
 * The benchmark's driver of SQLite (the amalgamation that npm's
 * better-sqlite3 carries; bench/corpus.sh builds both to wasm32-wasi): an
 * in-memory table of N rows, an index, aggregates and a group-by.
 *   sqlite_driver N
 */
#include <stdio.h>
#include <stdlib.h>

#include "sqlite3.h"

static int print_row(void *u, int n, char **v, char **c) {
  (void)u;
  (void)c;
  for (int i = 0; i < n; i++) printf("%s%s", i ? "|" : "", v[i] ? v[i] : "NULL");
  printf("\n");
  return 0;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 10000;
  sqlite3 *db;
  char *err = 0, text[64];
  if (sqlite3_open(":memory:", &db)) return 1;
  sqlite3_exec(db, "create table t(a integer primary key, b text, c real); begin;", 0, 0, &err);
  sqlite3_stmt *st;
  sqlite3_prepare_v2(db, "insert into t(b, c) values (?, ?)", -1, &st, 0);
  unsigned x = 1;
  for (int i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    snprintf(text, sizeof text, "row-%u", x % 100000);
    sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 2, (x % 10007) / 7.0);
    sqlite3_step(st);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  sqlite3_exec(db, "commit; create index tb on t(b);", 0, 0, &err);
  sqlite3_exec(db,
               "select count(*), sum(c), min(b), max(b) from t;"
               "select substr(b, 1, 5), count(*) from t group by 1 order by 2 desc, 1 limit 5;"
               "select avg(length(b)) from t where c > 500;",
               print_row, 0, &err);
  if (err) {
    printf("error: %s\n", err);
    return 1;
  }
  sqlite3_close(db);
  return 0;
}
