/* core: out of memory, walked once. An allocation hook in the style of Lua's
 * lua_Alloc (base/alloc.h) fails the Nth allocation of the core, for N = 1,
 * 2, ... until a run makes fewer: opening a core (every part), and the path
 * of a call (the namespace's entry, the admission and metrics handles, the
 * accounting entry). Each failure must be a clean refusal (NO_MEMORY), and
 * nothing may leak (make unit-san). */
#include <string.h>

#include "core_fixture.h"

TEST(open_fails_cleanly) {
  char dir[64];
  fixture_dir(dir);
  mote_core_config cfg = {.data_dir = dir, .workers = 2};
  long n;
  int refused = 0;
  for (n = 1;; n++) {
    mote_core *c = NULL;
    mote_core_error err;
    test_alloc_fail(n);
    mote_core_status st = mote_core_open(&cfg, &c, &err);
    long made = test_alloc_calls();
    test_alloc_fail(0);
    if (st == MOTE_CORE_OK) {
      mote_core_close(c);
      if (made < n) break; /* no allocation failed: every one was walked */
      continue;            /* a map that could not grow keeps working */
    }
    CHECK_EQ_INT(st, MOTE_CORE_NO_MEMORY);
    CHECK(c == NULL && !strcmp(err.message, "out of memory"));
    refused++;
  }
  CHECK(refused >= 8); /* each part of the core failed once */
  fixture_rm(dir);
}

TEST(a_call_fails_cleanly) {
  char dir[64];
  mote_core *c = fixture_core(dir, 1, 0);
  if (!c) return;
  core_fn *fn = deploy_exit(c, "guest", "f", 0);
  CHECK(fn != NULL);
  if (!fn) return;
  static const char *argv[] = {"f"};
  int refused = 0, ran = 0;
  for (long n = 1;; n++) {
    core_call call;
    core_call_init(&call, c, fn);
    call.argv = argv;
    call.argc = 1;
    test_alloc_fail(n);
    mote_core_status st = core_call_run(&call);
    if (st == MOTE_CORE_OK) core_call_finish(&call, 200, CORE_CLASS_OK, "ok", NULL);
    long made = test_alloc_calls();
    test_alloc_fail(0);
    CHECK(st == MOTE_CORE_OK || st == MOTE_CORE_NO_MEMORY);
    if (st == MOTE_CORE_NO_MEMORY) {
      refused++;
      CHECK(!call.entered && !call.admitted); /* nothing held after a refusal */
    } else {
      ran++;
    }
    core_call_clear(&call);
    if (made < n) break;
  }
  CHECK(refused >= 2 && ran >= 1);
  /* Every slot and every limit was given back: a call still runs. */
  core_call call;
  core_call_init(&call, c, fn);
  call.argv = argv;
  call.argc = 1;
  CHECK_EQ_INT(core_call_run(&call), MOTE_CORE_OK);
  core_call_clear(&call);
  core_figures fig;
  CHECK(core_figures_get(c, &fig));
  CHECK(fig.busy == 0 && fig.waiting == 0);
  core_figures_clear(&fig);
  core_fn_release(fn);
  mote_core_close(c);
  fixture_rm(dir);
}

RUN_TESTS(open_fails_cleanly, a_call_fails_cleanly)
