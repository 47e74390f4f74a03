/* http: credentials in requests: the Basic header's parser (basic_auth.c),
 * and the route table's key policy over real HTTP (route.c: 401 with
 * OpenWhisk's realm, the namespace of a good key). The cache of verified
 * keys is the core's: tests/core/test_identity.c. */
#include <curl/curl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store_fixture.h"
#include "http/http_internal.h"
#include "server/server.h"
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
  CHECK(basic_auth_parse(h, uuid, key));
  CHECK(strcmp(uuid, MOTE_DEV_UUID) == 0 && strcmp(key, MOTE_DEV_KEY) == 0);
  /* The scheme in any case, blanks around the token. */
  char h2[620];
  snprintf(h2, sizeof h2, "  bAsIc   %s  ", h + 6);
  CHECK(basic_auth_parse(h2, uuid, key));
  CHECK(strcmp(uuid, MOTE_DEV_UUID) == 0 && strcmp(key, MOTE_DEV_KEY) == 0);
  /* The key may hold a colon after the first. */
  basic_of("u:k:2", h, sizeof h);
  CHECK(basic_auth_parse(h, uuid, key));
  CHECK(strcmp(uuid, "u") == 0 && strcmp(key, "k:2") == 0);

  CHECK(!basic_auth_parse(NULL, uuid, key));
  CHECK(!basic_auth_parse("", uuid, key));
  CHECK(!basic_auth_parse("Basic", uuid, key));
  CHECK(!basic_auth_parse("Basic ", uuid, key));
  CHECK(!basic_auth_parse("Bearer abc.def", uuid, key));
  CHECK(!basic_auth_parse("BasicdTpr", uuid, key)); /* no blank after the scheme */
  CHECK(!basic_auth_parse("Basic !!!!", uuid, key));
  CHECK(!basic_auth_parse("Basic dTpr=", uuid, key)); /* bad padding */
  CHECK(!basic_auth_parse("Basic dTpr extra", uuid, key));
  basic_of("no-colon", h, sizeof h);
  CHECK(!basic_auth_parse(h, uuid, key));
  basic_of(":key", h, sizeof h);
  CHECK(!basic_auth_parse(h, uuid, key));
  basic_of("uuid:", h, sizeof h);
  CHECK(!basic_auth_parse(h, uuid, key));
  basic_of(MOTE_DEV_UUID "0:" MOTE_DEV_KEY, h, sizeof h); /* uuid one too long */
  CHECK(!basic_auth_parse(h, uuid, key));
  basic_of(MOTE_DEV_UUID ":" MOTE_DEV_KEY "x", h, sizeof h); /* key one too long */
  CHECK(!basic_auth_parse(h, uuid, key));
  CHECK(uuid[0] == 0 && key[0] == 0);
  /* A NUL inside the decoded credential. */
  unsigned char nul[] = {'u', 0, ':', 'k'};
  char b64[32];
  sodium_bin2base64(b64, sizeof b64, nul, sizeof nul, sodium_base64_VARIANT_ORIGINAL);
  snprintf(h, sizeof h, "Basic %s", b64);
  CHECK(!basic_auth_parse(h, uuid, key));
  /* URL-safe base64 is not the header's alphabet. */
  basic_of("a?>:b", h, sizeof h); /* "YT8+OmI=" has a '+' */
  CHECK(strchr(h, '+') != NULL);
  CHECK(basic_auth_parse(h, uuid, key));
  for (char *p = h; *p; p++)
    if (*p == '+') *p = '-';
  CHECK(!basic_auth_parse(h, uuid, key));
}

/* The route of the test: any request with a valid key gets 200 and its
 * namespace; the table answers the others (401). */
static http_result who(void *ctx, http_req *r) {
  (void)ctx;
  return http_reply_json(r, 200, json_pack("{s:s}", "namespace", http_req_ns(r)));
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
  mote_core_config cc = {.data_dir = dir, .workers = 1};
  mote_core *core = NULL;
  mote_core_error err;
  CHECK_EQ_INT(mote_core_open(&cc, &core, &err), MOTE_CORE_OK);
  if (!core) return;
  bool created = false;
  CHECK_EQ_INT(core_dev_key(core, MOTE_DEV_NAMESPACE, MOTE_DEV_UUID, MOTE_DEV_KEY, &created, &err),
               MOTE_CORE_OK);
  CHECK(created);
  CHECK_EQ_INT(core_dev_key(core, MOTE_DEV_NAMESPACE, MOTE_DEV_UUID, MOTE_DEV_KEY, &created, &err),
               MOTE_CORE_OK);
  CHECK(!created);

  char msg[256];
  http_config hc = {.host = "127.0.0.1", .port = 0};
  http_server *h = http_new(core, &hc, msg, sizeof msg);
  http_route route = {.pattern = "/", .methods = HTTP_GET, .key = HTTP_KEY_REQUIRED,
                      .dialect = HTTP_DIALECT_MOTE, .handle = who};
  bool listen_error;
  CHECK(h && http_add_routes(h, &route, 1) && http_start(h, &listen_error, msg, sizeof msg));
  uint16_t port = http_port(h);
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

  http_free(h);
  mote_core_close(core);
  fixture_rm(dir);
}

RUN_TESTS(parse_basic, identify_over_http)
