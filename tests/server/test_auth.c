/* server: the credential check (auth.c): header parsing, the cache of
 * verified keys, and the 401 reply over real HTTP. */
#include <curl/curl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store_fixture.h"
#include "server/server_internal.h"
#include "test.h"

#define T0 1700000000000LL /* a Unix time in ms for the cache's clock */

/* "Basic " + base64(text) into out. */
static void basic_of(const char *text, char *out, size_t cap) {
  char b64[512];
  sodium_bin2base64(b64, sizeof b64, (const unsigned char *)text, strlen(text),
                    sodium_base64_VARIANT_ORIGINAL);
  snprintf(out, cap, "Basic %s", b64);
}

TEST(parse_basic) {
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1], h[600];
  basic_of(MOTE_DEV_UUID ":" MOTE_DEV_KEY, h, sizeof h);
  CHECK(auth_parse_basic(h, uuid, key));
  CHECK(strcmp(uuid, MOTE_DEV_UUID) == 0 && strcmp(key, MOTE_DEV_KEY) == 0);
  /* The scheme in any case, blanks around the token. */
  char h2[620];
  snprintf(h2, sizeof h2, "  bAsIc   %s  ", h + 6);
  CHECK(auth_parse_basic(h2, uuid, key));
  CHECK(strcmp(uuid, MOTE_DEV_UUID) == 0 && strcmp(key, MOTE_DEV_KEY) == 0);
  /* The key may hold a colon after the first. */
  basic_of("u:k:2", h, sizeof h);
  CHECK(auth_parse_basic(h, uuid, key));
  CHECK(strcmp(uuid, "u") == 0 && strcmp(key, "k:2") == 0);

  CHECK(!auth_parse_basic(NULL, uuid, key));
  CHECK(!auth_parse_basic("", uuid, key));
  CHECK(!auth_parse_basic("Basic", uuid, key));
  CHECK(!auth_parse_basic("Basic ", uuid, key));
  CHECK(!auth_parse_basic("Bearer abc.def", uuid, key));
  CHECK(!auth_parse_basic("BasicdTpr", uuid, key)); /* no blank after the scheme */
  CHECK(!auth_parse_basic("Basic !!!!", uuid, key));
  CHECK(!auth_parse_basic("Basic dTpr=", uuid, key)); /* bad padding */
  CHECK(!auth_parse_basic("Basic dTpr extra", uuid, key));
  basic_of("no-colon", h, sizeof h);
  CHECK(!auth_parse_basic(h, uuid, key));
  basic_of(":key", h, sizeof h);
  CHECK(!auth_parse_basic(h, uuid, key));
  basic_of("uuid:", h, sizeof h);
  CHECK(!auth_parse_basic(h, uuid, key));
  basic_of(MOTE_DEV_UUID "0:" MOTE_DEV_KEY, h, sizeof h); /* uuid one too long */
  CHECK(!auth_parse_basic(h, uuid, key));
  basic_of(MOTE_DEV_UUID ":" MOTE_DEV_KEY "x", h, sizeof h); /* key one too long */
  CHECK(!auth_parse_basic(h, uuid, key));
  CHECK(uuid[0] == 0 && key[0] == 0);
  /* A NUL inside the decoded credential. */
  unsigned char nul[] = {'u', 0, ':', 'k'};
  char b64[32];
  sodium_bin2base64(b64, sizeof b64, nul, sizeof nul, sodium_base64_VARIANT_ORIGINAL);
  snprintf(h, sizeof h, "Basic %s", b64);
  CHECK(!auth_parse_basic(h, uuid, key));
  /* URL-safe base64 is not the header's alphabet. */
  basic_of("a?>:b", h, sizeof h); /* "YT8+OmI=" has a '+' */
  CHECK(strchr(h, '+') != NULL);
  CHECK(auth_parse_basic(h, uuid, key));
  for (char *p = h; *p; p++)
    if (*p == '+') *p = '-';
  CHECK(!auth_parse_basic(h, uuid, key));
}

TEST(check_and_cache) {
  char dir[64];
  fixture_dir(dir);
  mote_store *st = fixture_open(dir);
  srv_auth *a = auth_new();
  CHECK(a != NULL);
  mote_store_error err;
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1], ns[MOTE_STORE_NS_MAX + 1];
  CHECK_EQ_INT(mote_store_key_create(st, "alice", NULL, NULL, uuid, key, &err), MOTE_STORE_OK);

  char h[600], cred[128];
  CHECK_EQ_INT(auth_check_header(a, st, NULL, T0, ns), SRV_AUTH_MISSING);
  CHECK_EQ_INT(auth_check_header(a, st, "Basic !!", T0, ns), SRV_AUTH_MALFORMED);
  snprintf(cred, sizeof cred, "%s:%s", uuid, key);
  basic_of(cred, h, sizeof h);
  CHECK_EQ_INT(auth_check_header(a, st, h, T0, ns), SRV_AUTH_OK);
  CHECK(strcmp(ns, "alice") == 0);
  char wrong[MOTE_STORE_KEY_LEN + 1];
  memcpy(wrong, key, sizeof wrong);
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  snprintf(cred, sizeof cred, "%s:%s", uuid, wrong);
  basic_of(cred, h, sizeof h);
  CHECK_EQ_INT(auth_check_header(a, st, h, T0, ns), SRV_AUTH_REJECTED);
  CHECK(ns[0] == 0);
  /* The cached key, checked again with a wrong secret: refused. */
  CHECK_EQ_INT(auth_check(a, st, uuid, wrong, T0, ns), SRV_AUTH_REJECTED);
  CHECK_EQ_INT(auth_check(a, st, "00000000-0000-4000-8000-000000000000", key, T0, ns),
               SRV_AUTH_UNKNOWN);

  /* Deleted behind the cache's back (another process): the verified key
   * still opens for the cache's lifetime, then no more. */
  CHECK_EQ_INT(mote_store_key_delete(st, uuid, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(auth_check(a, st, uuid, key, T0 + 1000, ns), SRV_AUTH_OK);
  CHECK(strcmp(ns, "alice") == 0);
  /* A wrong secret is not let through by the cached entry. */
  CHECK_EQ_INT(auth_check(a, st, uuid, "wrong", T0 + 1000, ns), SRV_AUTH_UNKNOWN);
  CHECK_EQ_INT(auth_check(a, st, uuid, key, T0 + 61000, ns), SRV_AUTH_UNKNOWN);

  /* Deleted through this process: forgotten at once. */
  char uuid2[MOTE_STORE_UUID_LEN + 1], key2[MOTE_STORE_KEY_LEN + 1];
  CHECK_EQ_INT(mote_store_key_create(st, "bob", NULL, NULL, uuid2, key2, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(auth_check(a, st, uuid2, key2, T0, ns), SRV_AUTH_OK);
  CHECK(strcmp(ns, "bob") == 0);
  CHECK_EQ_INT(mote_store_key_delete(st, uuid2, &err), MOTE_STORE_OK);
  auth_forget(a, uuid2);
  CHECK_EQ_INT(auth_check(a, st, uuid2, key2, T0, ns), SRV_AUTH_UNKNOWN);

  /* And all at once, after a namespace goes. */
  CHECK_EQ_INT(mote_store_key_create(st, "carol", NULL, NULL, uuid2, key2, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(auth_check(a, st, uuid2, key2, T0, ns), SRV_AUTH_OK);
  CHECK_EQ_INT(mote_store_namespace_delete(st, "carol", &err), MOTE_STORE_OK);
  CHECK_EQ_INT(auth_check(a, st, uuid2, key2, T0, ns), SRV_AUTH_OK); /* cached */
  auth_forget(a, NULL);
  CHECK_EQ_INT(auth_check(a, st, uuid2, key2, T0, ns), SRV_AUTH_UNKNOWN);

  auth_free(a);
  mote_store_close(st);
  fixture_rm(dir);
}

/* A daemon whose every request is identified: 200 with the namespace, or
 * the 401 of auth_reply_401. */
static enum MHD_Result identify_handler(void *cls, struct MHD_Connection *c, const char *url,
                                        const char *method, const char *version,
                                        const char *upload, size_t *upload_len, void **ptr) {
  (void)url, (void)method, (void)version, (void)upload, (void)upload_len, (void)ptr;
  mote_server *s = cls;
  char ns[MOTE_STORE_NS_MAX + 1];
  srv_auth_result why;
  int status = auth_identify(s, c, ns, &why);
  if (status == 401) return auth_reply_401(c, why);
  if (status != 0) return reply_error(c, (unsigned)status, "internal", "store failed");
  return reply_json(c, 200, json_pack("{s:s}", "namespace", ns));
}

static size_t collect(char *p, size_t size, size_t n, void *ud) {
  char *buf = ud;
  size_t have = strlen(buf), add = size * n;
  if (have + add < 4096) {
    memcpy(buf + have, p, add);
    buf[have + add] = 0;
  }
  return size * n;
}

/* GET / with `auth` ("user:password", or NULL for none): the status; body
 * and headers into the buffers (4096 bytes each). */
static long get(uint16_t port, const char *auth, char *body, char *headers) {
  body[0] = headers[0] = 0;
  CURL *h = curl_easy_init();
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/", port);
  curl_easy_setopt(h, CURLOPT_URL, url);
  if (auth) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERPWD, auth);
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, headers);
  long status = 0;
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  return status;
}

TEST(identify_over_http) {
  char dir[64];
  fixture_dir(dir);
  mote_server *s = calloc(1, sizeof *s);
  s->store = fixture_open(dir);
  s->auth = auth_new();
  snprintf(s->data_dir, sizeof s->data_dir, "%s", dir);
  bool created = false;
  char msg[512];
  CHECK_EQ_INT(auth_dev_setup(s, &created, msg, sizeof msg), MOTE_SERVER_OK);
  CHECK(created);
  CHECK_EQ_INT(auth_dev_setup(s, &created, msg, sizeof msg), MOTE_SERVER_OK);
  CHECK(!created);

  struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                                          identify_handler, s, MHD_OPTION_END);
  CHECK(d != NULL);
  if (!d) return;
  uint16_t port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
  char body[4096], headers[4096];

  CHECK_EQ_INT(get(port, MOTE_DEV_UUID ":" MOTE_DEV_KEY, body, headers), 200);
  CHECK_STR_CONTAINS(body, "{\"namespace\":\"guest\"}");

  CHECK_EQ_INT(get(port, NULL, body, headers), 401);
  CHECK_STR_CONTAINS(headers, "WWW-Authenticate: Basic realm=\"OpenWhisk secure realm\"");
  CHECK_STR_CONTAINS(headers, "Content-Type: application/json");
  CHECK_STR_CONTAINS(body, "\"error\":\"The resource requires authentication, which was not "
                           "supplied with the request\"");
  CHECK_STR_CONTAINS(body, "\"code\":\"");

  CHECK_EQ_INT(get(port, MOTE_DEV_UUID ":wrong", body, headers), 401);
  CHECK_STR_CONTAINS(headers, "WWW-Authenticate: Basic realm=\"OpenWhisk secure realm\"");
  CHECK_STR_CONTAINS(body, "{\"error\":\"The supplied authentication is invalid\",\"code\":\"");
  json_t *j = json_loads(body, 0, NULL);
  const char *code = json_string_value(json_object_get(j, "code"));
  CHECK(code && strlen(code) == 32);
  json_decref(j);

  CHECK_EQ_INT(get(port, "nobody:nothing", body, headers), 401);
  CHECK_STR_CONTAINS(body, "The supplied authentication is invalid");

  MHD_stop_daemon(d);
  auth_free(s->auth);
  mote_store_close(s->store);
  free(s);
  fixture_rm(dir);
}

RUN_TESTS(parse_basic, check_and_cache, identify_over_http)
