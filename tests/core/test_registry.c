/* core: the registry (registry.c): (namespace, name) -> entry -> the current version,
 * references (a version outlives its replacement while a call holds it),
 * entries kept across a delete (their handles stay), and an API's extension
 * made once per version and dropped with it. Versions here are records
 * without modules. */
#include <stdlib.h>
#include <string.h>

#include "core/core_internal.h"
#include "test.h"

static core_fn *version_in(const char *ns, const char *name, uint64_t v) {
  core_fn *fn = calloc(1, sizeof *fn);
  atomic_init(&fn->refs, 1);
  atomic_init(&fn->opt, NULL);
  atomic_init(&fn->ext, NULL);
  fn->rec.ns = strdup(ns);
  fn->rec.name = strdup(name);
  fn->rec.version = v;
  return fn;
}

static core_fn *version(const char *name, uint64_t v) { return version_in("ns", name, v); }

static int made, dropped;
static void *make(const mote_function_version *rec) {
  made++;
  int *x = malloc(sizeof *x);
  *x = (int)rec->version;
  return x;
}
static void drop(void *x) {
  dropped++;
  free(x);
}

TEST(versions_and_references) {
  core_registry *r = registry_new();
  CHECK(r && registry_count(r) == 0 && registry_acquire(r, "ns", "f") == NULL);
  core_fn *v1 = version("f", 1);
  CHECK_EQ_INT(registry_put(r, v1), MOTE_CORE_OK);
  CHECK(v1->entry && !strcmp(v1->entry->name, "f"));
  core_fn *held = registry_acquire(r, "ns", "f"); /* a call in flight */
  CHECK(held == v1 && atomic_load(&v1->refs) == 2);
  CHECK_EQ_INT(*(int *)core_fn_extension(held, make, drop), 1);
  CHECK_EQ_INT(*(int *)core_fn_extension(held, make, drop), 1);
  CHECK_EQ_INT(made, 1); /* made once per version */

  core_fn *v2 = version("f", 2);
  CHECK_EQ_INT(registry_put(r, v2), MOTE_CORE_OK);
  CHECK(v2->entry == v1->entry); /* one entry per name */
  CHECK_EQ_INT(atomic_load(&v1->refs), 1); /* the call's only */
  core_fn *now = registry_acquire(r, "ns", "f");
  CHECK(now == v2);
  fn_release(now);
  CHECK_EQ_INT(dropped, 0);
  fn_release(held); /* the call ends: v1 goes, its extension with it */
  CHECK_EQ_INT(dropped, 1);
  CHECK_EQ_INT(registry_count(r), 1);

  core_entry *entry = v2->entry;
  CHECK(registry_remove(r, "ns", "f"));
  CHECK(!registry_remove(r, "ns", "f"));
  CHECK(registry_acquire(r, "ns", "f") == NULL && registry_count(r) == 0);
  core_fn *v3 = version("f", 3); /* a deploy after the delete: the same entry */
  CHECK_EQ_INT(registry_put(r, v3), MOTE_CORE_OK);
  CHECK(v3->entry == entry && registry_count(r) == 1);
  core_fn *g = version("g", 1);
  CHECK_EQ_INT(registry_put(r, g), MOTE_CORE_OK);
  CHECK_EQ_INT(registry_count(r), 2);
  registry_free(r); /* drops the registry's references */
}

/* Names are per namespace: f of two namespaces are two functions, each
 * with its entry; one's deploy or delete leaves the other's alone. */
TEST(names_per_namespace) {
  core_registry *r = registry_new();
  core_fn *a = version_in("a", "f", 1), *b = version_in("b", "f", 7);
  CHECK_EQ_INT(registry_put(r, a), MOTE_CORE_OK);
  CHECK(registry_acquire(r, "b", "f") == NULL);
  CHECK_EQ_INT(registry_put(r, b), MOTE_CORE_OK);
  CHECK(a->entry != b->entry && !strcmp(a->entry->ns, "a") && !strcmp(b->entry->ns, "b") &&
        !strcmp(b->entry->key, "b/f"));
  CHECK_EQ_INT(registry_count(r), 2);
  core_fn *got = registry_acquire(r, "a", "f");
  CHECK(got == a);
  fn_release(got);
  got = registry_acquire(r, "b", "f");
  CHECK(got == b && got->rec.version == 7);
  fn_release(got);
  CHECK(registry_remove(r, "b", "f"));
  got = registry_acquire(r, "a", "f");
  CHECK(got == a);
  fn_release(got);
  CHECK(registry_acquire(r, "b", "f") == NULL);
  /* Not names: never found, never put. */
  CHECK(registry_acquire(r, "a/f", "") == NULL && registry_acquire(r, NULL, "f") == NULL);
  CHECK(!registry_remove(r, "", "f"));
  CHECK_EQ_INT(registry_put(r, version_in("a/b", "f", 1)), MOTE_CORE_INVALID);
  registry_free(r);
}

/* Out of memory at each allocation of a registry's life: nothing is served
 * that cannot be (the version is released, not leaked), nothing crashes. */
TEST(out_of_memory) {
  long n;
  for (n = 1;; n++) {
    test_alloc_fail(n);
    core_registry *r = registry_new();
    if (r) {
      for (int i = 0; i < 20; i++) {
        char name[8];
        snprintf(name, sizeof name, "f%d", i);
        mote_core_status st = registry_put(r, version(name, 1));
        CHECK(st == MOTE_CORE_OK || st == MOTE_CORE_NO_MEMORY);
        core_fn *fn = registry_acquire(r, "ns", name);
        CHECK((st == MOTE_CORE_OK) == (fn != NULL));
        fn_release(fn);
      }
      registry_free(r);
    }
    long calls = test_alloc_calls();
    test_alloc_fail(0);
    if (calls < n) break;
  }
  CHECK(n > 20);
}

RUN_TESTS(versions_and_references, names_per_namespace, out_of_memory)
