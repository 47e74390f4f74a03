/*
 * client: HTTP requests of the client verbs to a running `mote serve`,
 * through libcurl (one easy handle per request: a verb makes one or two).
 *
 * Bodies are sent from memory and replies collected in memory: a call's
 * body and its stdout are bounded by the server (16 MiB each), a module by
 * 64 MiB. No overall time limit is set, since a call may legitimately run
 * as long as its function's timeout (up to an hour); connecting is bounded.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "cli.h"
#include "cli/client.h"

#define CONNECT_TIMEOUT_S 10L

int mote_client_opt(const char *verb, int argc, char **argv, int *i, mote_client_opts *o) {
  const char *a = argv[*i];
  if (!strcmp(a, "--json")) {
    o->json = true;
    return 1;
  }
  if (!strcmp(a, "--server")) {
    if (*i + 1 >= argc) {
      fprintf(stderr, "mote %s: --server needs a URL, such as %s\n", verb, MOTE_DEFAULT_URL);
      return -1;
    }
    o->server = argv[++*i];
    return 1;
  }
  if (!strncmp(a, "--server=", 9)) {
    o->server = a + 9;
    return 1;
  }
  if (!strcmp(a, "--auth")) {
    if (*i + 1 >= argc) {
      fprintf(stderr, "mote %s: --auth needs UUID:KEY (see mote --help)\n", verb);
      return -1;
    }
    o->auth = argv[++*i];
    return 1;
  }
  if (!strncmp(a, "--auth=", 7)) {
    o->auth = a + 7;
    return 1;
  }
  return 0;
}

/* The credentials to send: --auth, else $MOTE_AUTH; NULL for none. */
static const char *client_auth(const mote_client_opts *o) {
  if (o->auth) return o->auth; /* --auth "" sends none, whatever $MOTE_AUTH says */
  const char *env = getenv("MOTE_AUTH");
  return env && *env ? env : NULL;
}

const char *mote_client_base_url(const mote_client_opts *o) {
  if (o->server && *o->server) return o->server;
  const char *env = getenv("MOTE_URL");
  return env && *env ? env : MOTE_DEFAULT_URL;
}

void mote_reply_clear(mote_reply *r) {
  free(r->body);
  memset(r, 0, sizeof *r);
}

/* ---- paths -------------------------------------------------------------------- */

static void path_append(mote_path *p, const char *s, size_t n) {
  if (p->oom) return;
  if (p->len + n + 1 > p->cap) {
    size_t cap = p->cap ? p->cap : 128;
    while (cap < p->len + n + 1) cap *= 2;
    char *grown = realloc(p->s, cap);
    if (!grown) {
      p->oom = true;
      return;
    }
    p->s = grown;
    p->cap = cap;
  }
  memcpy(p->s + p->len, s, n);
  p->len += n;
  p->s[p->len] = '\0';
}

void mote_path_add(mote_path *p, const char *literal) {
  path_append(p, literal, strlen(literal));
}

void mote_path_add_escaped(mote_path *p, const char *text) {
  /* curl_easy_escape keeps only A-Z a-z 0-9 - . _ ~ as they are: a '/' or
   * '?' in a value cannot change the route. */
  char *e = curl_easy_escape(NULL, text, (int)strlen(text));
  if (!e) {
    p->oom = true;
    return;
  }
  mote_path_add(p, e);
  curl_free(e);
}

void mote_path_param(mote_path *p, const char *key, const char *value) {
  mote_path_add(p, p->has_query ? "&" : "?");
  p->has_query = true;
  mote_path_add_escaped(p, key);
  mote_path_add(p, "=");
  mote_path_add_escaped(p, value);
}

/* ---- requests ------------------------------------------------------------------ */

typedef struct body_buf {
  char *data;
  size_t len, cap;
  bool oom;
} body_buf;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  body_buf *b = userdata;
  size_t n = size * nmemb;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) {
      b->oom = true;
      return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

/* Copies the value of header line `line` into dst when its name is `name`. */
static void take_header(const char *line, size_t n, const char *name, char *dst, size_t cap) {
  size_t k = strlen(name);
  if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':') return;
  const char *v = line + k + 1, *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
  size_t len = (size_t)(end - v) < cap - 1 ? (size_t)(end - v) : cap - 1;
  memcpy(dst, v, len);
  dst[len] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata) {
  mote_reply *r = userdata;
  size_t n = size * nmemb;
  take_header(line, n, "X-Mote-Activation-Id", r->activation_id, sizeof r->activation_id);
  take_header(line, n, "X-Mote-Wait-Us", r->wait_us, sizeof r->wait_us);
  take_header(line, n, "X-Mote-Init-Us", r->init_us, sizeof r->init_us);
  take_header(line, n, "X-Mote-Exec-Us", r->exec_us, sizeof r->exec_us);
  take_header(line, n, "X-Mote-Version", r->version, sizeof r->version);
  take_header(line, n, "X-Mote-Tier", r->tier, sizeof r->tier);
  return n;
}

static bool unreachable(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return true;
    default:
      return false;
  }
}

int mote_client_request(const char *verb, const mote_client_opts *o, const char *method,
                        const char *path, const void *body, size_t body_len,
                        const char *content_type, mote_reply *out) {
  static bool curl_ready;
  memset(out, 0, sizeof *out);
  const char *base = mote_client_base_url(o);
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      fprintf(stderr, "mote %s: libcurl failed to start\n", verb);
      return MOTE_EXIT_REMOTE;
    }
    curl_ready = true;
  }
  size_t blen = strlen(base);
  while (blen > 0 && base[blen - 1] == '/') blen--; /* "http://h:p/" + "/v1/..." */
  mote_path url = {0};
  path_append(&url, base, blen);
  mote_path_add(&url, path);
  CURL *h = curl_easy_init();
  if (url.oom || !h) {
    fprintf(stderr, "mote %s: out of memory\n", verb);
    free(url.s);
    if (h) curl_easy_cleanup(h);
    return MOTE_EXIT_REMOTE;
  }

  char errbuf[CURL_ERROR_SIZE] = "";
  body_buf b = {0};
  struct curl_slist *headers = NULL;
  char ct[160];
  if (body) {
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type ? content_type
                                                               : "application/octet-stream");
    headers = curl_slist_append(headers, ct);
  }
  curl_easy_setopt(h, CURLOPT_URL, url.s);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "mote-cli");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
  if (body) {
    /* POSTFIELDS with an explicit size sends the bytes as they are (NULs
     * included); CUSTOMREQUEST turns the POST into PUT where asked. */
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body_len ? body : "");
  }
  if (strcmp(method, body ? "POST" : "GET") != 0)
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

  /* Basic authentication with uuid and key (OpenWhisk's): split at the
   * first ':' (uuids have none). */
  const char *auth = client_auth(o);
  char user[128];
  if (auth && *auth) {
    const char *colon = strchr(auth, ':');
    size_t ulen = colon ? (size_t)(colon - auth) : 0;
    if (!colon || ulen == 0 || ulen >= sizeof user || !colon[1]) {
      fprintf(stderr, "mote %s: the API key %s is not of the form UUID:KEY (as `mote keys "
              "create` prints it)\n", verb, o->auth ? "of --auth" : "in $MOTE_AUTH");
      free(url.s);
      curl_slist_free_all(headers);
      curl_easy_cleanup(h);
      return MOTE_EXIT_USAGE;
    }
    memcpy(user, auth, ulen);
    user[ulen] = '\0';
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, colon + 1);
    out->auth_sent = true;
  }

  CURLcode rc = curl_easy_perform(h);
  int status = 0;
  if (rc == CURLE_OK && !b.oom) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    out->body = b.data ? b.data : calloc(1, 1);
    out->body_len = b.len;
    b.data = NULL;
    if (!out->body) {
      fprintf(stderr, "mote %s: out of memory\n", verb);
      status = MOTE_EXIT_REMOTE;
    }
  } else if (b.oom) {
    fprintf(stderr, "mote %s: out of memory reading the reply of %s\n", verb, url.s);
    status = MOTE_EXIT_REMOTE;
  } else if (unreachable(rc)) {
    fprintf(stderr, "mote %s: cannot reach mote at %.*s: %s (is `mote serve` running? "
            "set --server URL or MOTE_URL)\n", verb, (int)blen, base,
            errbuf[0] ? errbuf : curl_easy_strerror(rc));
    status = MOTE_EXIT_UNREACHABLE;
  } else {
    fprintf(stderr, "mote %s: the request %s %s failed: %s\n", verb, method, url.s,
            errbuf[0] ? errbuf : curl_easy_strerror(rc));
    status = MOTE_EXIT_REMOTE;
  }
  free(b.data);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  free(url.s);
  return status;
}
