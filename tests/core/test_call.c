/* core: the path of one call (call.c, exec.c) on a real core: a run on the
 * caller's thread, the outcome -> class map, the namespace's limits, and
 * background calls in admission's one queue: refused at once when it is
 * full (never accepted and then refused), run by an executor once they have
 * a slot, taken out by their caller's cancel while they wait. Waits are on
 * states (a condition variable), never on time. */
#include <pthread.h>
#include <string.h>

#include "core_fixture.h"

/* A background call and its end, for the test to wait on. */
typedef struct bg {
  core_call call;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool done;
  int exit_code;
} bg;

static void bg_job(core_call *call, void *arg) {
  bg *b = arg;
  core_call_exec(call);
  core_call_finish(call, 200, core_outcome_class(&call->res), "ok", NULL);
  pthread_mutex_lock(&b->lock);
  b->done = true;
  b->exit_code = call->res.exit_code;
  pthread_cond_broadcast(&b->cond);
  pthread_mutex_unlock(&b->lock);
}

static void bg_init(bg *b, mote_core *c, core_fn *fn) {
  memset(b, 0, sizeof *b);
  pthread_mutex_init(&b->lock, NULL);
  pthread_cond_init(&b->cond, NULL);
  core_call_init(&b->call, c, fn);
  static const char *argv[] = {"f"};
  b->call.argv = argv;
  b->call.argc = 1;
}

static void bg_wait(bg *b) {
  pthread_mutex_lock(&b->lock);
  while (!b->done) pthread_cond_wait(&b->cond, &b->lock);
  pthread_mutex_unlock(&b->lock);
}

static mote_core_status run(mote_core *c, core_fn *fn, core_call *call) {
  static const char *argv[] = {"f"};
  core_call_init(call, c, fn);
  call->argv = argv;
  call->argc = 1;
  return core_call_run(call);
}

TEST(the_call_path) {
  char dir[64];
  mote_core *c = fixture_core(dir, 1, 2);
  if (!c) return;
  core_fn *ok = deploy_exit(c, "guest", "ok", 0), *three = deploy_exit(c, "guest", "three", 3);
  CHECK(ok && three && core_fn_count(c) == 2);
  if (!ok || !three) return;

  /* On the caller's thread: the run, its class, its record. */
  core_call call;
  CHECK_EQ_INT(run(c, ok, &call), MOTE_CORE_OK);
  CHECK(call.res.outcome == MOTE_INVOKE_EXITED && call.res.exit_code == 0);
  CHECK_EQ_INT(core_outcome_class(&call.res), CORE_CLASS_OK);
  /* the quick tier, or the opt tier if the background compile of this
   * small module has already finished (it races the call) */
  CHECK(call.snapshot && (!strcmp(call.tier, "quick") || !strcmp(call.tier, "opt")));
  char id[33];
  memcpy(id, call.id, sizeof id);
  core_call_finish(&call, 200, CORE_CLASS_OK, "ok", NULL);
  core_call_clear(&call);
  mote_activation a;
  mote_store_error se;
  CHECK_EQ_INT(mote_store_activation_get(core_store(c), NULL, id, &a, &se), MOTE_STORE_OK);
  CHECK(!strcmp(a.function, "ok") && a.http_status == 200 && !strcmp(a.outcome, "ok"));
  mote_activation_clear(&a);
  CHECK_EQ_INT(run(c, three, &call), MOTE_CORE_OK);
  CHECK_EQ_INT(core_outcome_class(&call.res), CORE_CLASS_EXIT);
  char text[64];
  core_outcome_text(&call.res, text, sizeof text);
  CHECK(!strcmp(text, "exit"));
  core_call_finish(&call, 502, CORE_CLASS_EXIT, text, NULL);
  core_call_clear(&call);

  /* One queue: the only slot taken by hand, a background call waits in it;
   * its function's share (1) is then full, and the next is refused at
   * once, not accepted and refused later. */
  core_admission held;
  admit_set_quantum(c->admit, UINT64_MAX); /* the slot taken by hand stays taken */
  admit_enter(c->admit, admit_fn(c->admit, "ns", "holder"), 0, 0, 0, &held);
  CHECK_EQ_INT(held.status, CORE_ADMITTED);
  bg *b1 = malloc(sizeof *b1), *b2 = malloc(sizeof *b2), *b3 = malloc(sizeof *b3);
  bg_init(b1, c, ok);
  bg_init(b2, c, ok);
  bg_init(b3, c, three);
  CHECK_EQ_INT(core_call_begin(&b1->call), MOTE_CORE_OK);
  CHECK_EQ_INT(core_call_submit(&b1->call, bg_job, b1), MOTE_CORE_OK);
  CHECK_EQ_INT(core_call_begin(&b2->call), MOTE_CORE_OK);
  CHECK_EQ_INT(core_call_submit(&b2->call, bg_job, b2), MOTE_CORE_FUNCTION_QUEUE_FULL);
  CHECK(b2->call.err.status == MOTE_CORE_FUNCTION_QUEUE_FULL && b2->call.retry_after_s >= 1 &&
        b2->call.limit == 1 && !b2->call.entered); /* refused: its limits are left */
  CHECK_STR_CONTAINS(b2->call.err.message, "its share of the queue");
  /* A waiting call its caller gives up on leaves the queue: refused. */
  CHECK_EQ_INT(core_call_submit(&b3->call, bg_job, b3), MOTE_CORE_OK);
  CHECK(core_call_cancel(&b3->call));
  CHECK(b3->call.err.status == MOTE_CORE_QUEUE_TIMEOUT && !b3->call.entered);
  pthread_mutex_lock(&b1->lock);
  CHECK(!b1->done); /* the slot is held: it cannot have run */
  pthread_mutex_unlock(&b1->lock);
  admit_leave(c->admit, &held, 10);
  bg_wait(b1); /* the freed slot went to it, and an executor ran it */
  CHECK_EQ_INT(b1->exit_code, 0);
  CHECK(!core_call_cancel(&b1->call)); /* ran: nothing to cancel */
  for (bg *b = b1; b; b = b == b1 ? b2 : b == b2 ? b3 : NULL) {
    core_call_clear(&b->call);
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
  }
  free(b1);
  free(b2);
  free(b3);

  /* The figures: calls by status and class, refusals by reason. */
  core_figures fig;
  CHECK(core_figures_get(c, &fig));
  const core_fn_figures *fo = NULL, *ft = NULL;
  for (size_t i = 0; i < fig.nfns; i++) {
    if (!strcmp(fig.fns[i].name, "ok")) fo = &fig.fns[i];
    if (!strcmp(fig.fns[i].name, "three")) ft = &fig.fns[i];
  }
  CHECK(fo && ft);
  if (fo && ft) {
    CHECK_EQ_INT(fo->class_count[CORE_CLASS_OK], 2);
    CHECK_EQ_INT(fo->class_count[CORE_CLASS_OVERLOAD], 1);
    CHECK_EQ_INT(fo->refused[MOTE_CORE_FUNCTION_QUEUE_FULL - CORE_REFUSAL_FIRST], 1);
    CHECK_EQ_INT(ft->class_count[CORE_CLASS_EXIT], 1);
    CHECK_EQ_INT(ft->refused[MOTE_CORE_QUEUE_TIMEOUT - CORE_REFUSAL_FIRST], 1);
  }
  core_figures_clear(&fig);
  core_fn_release(ok);
  core_fn_release(three);
  mote_core_drain(c);
  mote_core_close(c);
  fixture_rm(dir);
}

/* A module whose _start exits with 41 through a function of 260 parameters:
 * more than the quick tier (tcc) can compile. NULL after a failed check. */
static uint8_t *wide_module(size_t *len) {
  enum { N = 260 };
  char *wat = malloc(32 * N + 1024); /* " (i32.const 259)" and " i32" per parameter */
  if (!wat) return NULL;
  size_t n = (size_t)sprintf(wat,
                             "(module\n"
                             "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
                             "  (memory (export \"memory\") 1)\n"
                             "  (func $many (param");
  for (int i = 0; i < N; i++) n += (size_t)sprintf(wat + n, " i32");
  n += (size_t)sprintf(wat + n, ") (result i32) (i32.add (local.get 0) (local.get %d)))\n"
                       "  (func (export \"_start\") (call $exit (call $many", N - 1);
  for (int i = 0; i < N; i++) n += (size_t)sprintf(wat + n, " (i32.const %d)", i == N - 1 ? 41 : i);
  sprintf(wat + n, "))))\n");
  uint8_t *wasm = test_wat(wat, NULL, len);
  free(wat);
  CHECK(wasm != NULL);
  return wasm;
}

/* Deploys wide_module() as guest/many with `stop` (may be NULL). */
static mote_core_status deploy_wide(mote_core *c, core_stop *stop, core_fn **fn,
                                    mote_core_error *err) {
  size_t len = 0;
  uint8_t *wasm = wide_module(&len);
  if (!wasm) return MOTE_CORE_NO_MEMORY;
  mote_function_settings st = {0};
  core_deploy_req req = {.ns = "guest", .name = "many", .wasm = wasm, .len = len,
                         .settings = &st, .stop = stop};
  mote_core_status status = core_deploy(c, &req, fn, err);
  free(wasm);
  return status;
}

/* A module the quick tier cannot compile is deployed on the opt tier
 * instead, and runs. */
TEST(a_module_tcc_cannot_compile_deploys_on_the_opt_tier) {
  char dir[64];
  mote_core *c = fixture_core(dir, 1, 2);
  if (!c) return;
  core_fn *fn = NULL;
  mote_core_error err;
  CHECK_EQ_INT(deploy_wide(c, NULL, &fn, &err), MOTE_CORE_OK);
  if (fn) {
    core_call call;
    CHECK_EQ_INT(run(c, fn, &call), MOTE_CORE_OK);
    CHECK(call.res.outcome == MOTE_INVOKE_EXITED);
    CHECK_EQ_INT(call.res.exit_code, 41); /* 0 + 41 */
    CHECK(!strcmp(call.tier, "opt"));
    core_call_finish(&call, 200, CORE_CLASS_EXIT, "exit", NULL);
    core_call_clear(&call);
    core_fn_release(fn);
  }
  mote_core_drain(c);
  mote_core_close(c);
  fixture_rm(dir);
}

/* When the opt tier fails too (a compiler that always fails), the deploy
 * is refused with both reasons; a deploy whose caller has already given up
 * stops that compile at once. */
TEST(the_opt_fallback_fails_with_both_reasons_and_stops_with_its_deploy) {
  char dir[64];
  mote_core *c = fixture_core(dir, 1, 2);
  if (!c) return;
  core_fn *fn = NULL;
  mote_core_error err;
  setenv("MOTE_CC", "false", 1);
  CHECK(deploy_wide(c, NULL, &fn, &err) != MOTE_CORE_OK);
  unsetenv("MOTE_CC");
  CHECK(fn == NULL);
  CHECK_STR_CONTAINS(err.message, "the quick tier (tcc) cannot compile this module");
  CHECK_STR_CONTAINS(err.message, "; then the opt tier: ");
  core_stop stop;
  core_stop_init(c, &stop);
  core_stop_request(&stop, "client gone");
  CHECK(deploy_wide(c, &stop, &fn, &err) != MOTE_CORE_OK);
  CHECK(fn == NULL);
  CHECK_STR_CONTAINS(err.message, "stopped by its caller");
  core_stop_destroy(&stop);
  mote_core_drain(c);
  mote_core_close(c);
  fixture_rm(dir);
}

/* A namespace's limits: a call over them is refused with OpenWhisk's
 * message, counted, and runs nothing. */
TEST(namespace_limits) {
  char dir[64];
  mote_core *c = fixture_core(dir, 1, 0);
  if (!c) return;
  mote_store_error se;
  mote_namespace_limits lim = {.invocations_per_minute = 1};
  CHECK_EQ_INT(mote_store_namespace_create(core_store(c), "limited", NULL, &se), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_namespace_limits_set(core_store(c), "limited", &lim, &se),
               MOTE_STORE_OK);
  core_fn *fn = deploy_exit(c, "limited", "q", 0);
  CHECK(fn != NULL);
  if (!fn) return;
  core_call call;
  CHECK_EQ_INT(run(c, fn, &call), MOTE_CORE_OK);
  core_call_finish(&call, 200, CORE_CLASS_OK, "ok", NULL);
  core_call_clear(&call);
  CHECK_EQ_INT(run(c, fn, &call), MOTE_CORE_NS_RATE);
  CHECK(!strcmp(call.err.message, "Too many requests in the last minute (count: 1, allowed: 1)."));
  CHECK(call.retry_after_s >= 1 && call.res.exec_us == 0 && !call.admitted); /* never ran */
  core_call_clear(&call);
  core_fn_release(fn);
  mote_core_close(c);
  fixture_rm(dir);
}

/* One data directory takes one core (one mote serve): a second open is
 * refused with a message naming the first's pid; once the first closes, it
 * opens. */
TEST(a_data_directory_takes_one_core_at_a_time) {
  char dir[64];
  mote_core *c = fixture_core(dir, 1, 4);
  mote_core_config cfg = {.data_dir = dir, .workers = 1, .queue = 4};
  mote_core *second = NULL;
  mote_core_error err;
  CHECK_EQ_INT(mote_core_open(&cfg, &second, &err), MOTE_CORE_STORE);
  CHECK(second == NULL);
  char pid[32];
  snprintf(pid, sizeof pid, "(pid %ld)", (long)getpid());
  CHECK_MSG(strstr(err.message, "in use by another server") && strstr(err.message, pid),
            err.message);
  mote_core_close(c);
  CHECK_EQ_INT(mote_core_open(&cfg, &second, &err), MOTE_CORE_OK);
  mote_core_close(second);
  fixture_rm(dir);
}

RUN_TESTS(the_call_path, a_data_directory_takes_one_core_at_a_time, a_module_tcc_cannot_compile_deploys_on_the_opt_tier,
          the_opt_fallback_fails_with_both_reasons_and_stops_with_its_deploy, namespace_limits)
