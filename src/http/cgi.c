/*
 * cgi: the CGI mode of /faas/[{ns}/]{name}, as WAGI does (functions deployed with
 * cgi=true).
 *
 * In: the guest's environment gets the CGI/1.1 variables of the request
 * (RFC 3875: REQUEST_METHOD, QUERY_STRING raw, PATH_INFO = the path after
 * /faas/[{ns}/]{name} (faas.c), SCRIPT_NAME, CONTENT_TYPE, CONTENT_LENGTH,
 * SERVER_*, REMOTE_ADDR, GATEWAY_INTERFACE) and HTTP_<NAME> for each request header
 * (upper case, '-' -> '_'). Authorization and Proxy-Authorization are never
 * passed; headers whose names hold '_' or other non-token characters are
 * dropped (HTTP_X_A could otherwise be spoofed by "X_A"); repeated headers
 * are joined with ", ". argv and stdin are as without CGI.
 *
 * Out: stdout starts with "Name: value" lines (LF or CRLF) up to an empty
 * line, then the body; cgi_output.c parses the block (its rules are there),
 * and this file makes the response of it.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http/http_internal.h"

/* ---- the environment ------------------------------------------------------ */

typedef struct envb {
  char **v;
  size_t n, cap;
  bool oom;
} envb;

/* Appends s (from malloc, taken over; NULL means out of memory). */
static void env_push(envb *b, char *s) {
  if (!s || b->oom) {
    free(s);
    b->oom = true;
    return;
  }
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    char **g = realloc(b->v, cap * sizeof *g);
    if (!g) {
      free(s);
      b->oom = true;
      return;
    }
    b->v = g;
    b->cap = cap;
  }
  b->v[b->n++] = s;
}

static void env_add(envb *b, const char *key, const char *val) {
  if (b->oom) return;
  size_t kl = strlen(key), vl = strlen(val);
  char *s = malloc(kl + vl + 2);
  if (s) {
    memcpy(s, key, kl);
    s[kl] = '=';
    memcpy(s + kl + 1, val, vl + 1);
  }
  env_push(b, s);
}

/* The index of the variable `key` (up to '=') in b, or -1. */
static long env_find(const envb *b, const char *key, size_t kl) {
  for (size_t i = 0; i < b->n; i++)
    if (!strncmp(b->v[i], key, kl) && b->v[i][kl] == '=') return (long)i;
  return -1;
}

static void header_var(void *cls, const char *key, const char *value) {
  envb *b = cls;
  if (!key || !value || b->oom) return;
  if (!strcasecmp(key, "Authorization") || !strcasecmp(key, "Proxy-Authorization") ||
      !strcasecmp(key, "Content-Type") || !strcasecmp(key, "Content-Length"))
    return; /* secrets; and the two that have variables of their own */
  size_t kl = strlen(key);
  if (kl == 0 || kl > 200) return;
  char name[216] = "HTTP_";
  for (size_t i = 0; i < kl; i++) {
    unsigned char ch = (unsigned char)key[i];
    if (ch == '-') ch = '_';
    else if ((ch >= 'a' && ch <= 'z')) ch = (unsigned char)(ch - 'a' + 'A');
    else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) return;
    name[5 + i] = (char)ch;
  }
  name[5 + kl] = '\0';
  for (const char *p = value; *p; p++)
    if ((unsigned char)*p < 0x20 && *p != '\t') return;
  long at = env_find(b, name, 5 + kl);
  if (at < 0) {
    env_add(b, name, value);
    return;
  }
  /* A repeated header: "a, b" (RFC 3875 4.1.18). */
  char *old = b->v[at];
  size_t ol = strlen(old), vl = strlen(value);
  char *s = realloc(old, ol + 2 + vl + 1);
  if (!s) {
    b->oom = true;
    return;
  }
  memcpy(s + ol, ", ", 2);
  memcpy(s + ol + 2, value, vl + 1);
  b->v[at] = s;
  return;
}

char **cgi_env(http_req *r, const mote_function_settings *st, size_t *count) {
  envb cg = {0};
  char buf[320];
  env_add(&cg, "GATEWAY_INTERFACE", "CGI/1.1");
  env_add(&cg, "SERVER_SOFTWARE", "mote");
  env_add(&cg, "SERVER_PROTOCOL", r->version[0] ? r->version : "HTTP/1.1");
  env_add(&cg, "REQUEST_METHOD", r->method);
  env_add(&cg, "QUERY_STRING", r->query ? r->query : "");
  /* SCRIPT_NAME + PATH_INFO is the path: /faas/[NS/]NAME and the rest. */
  env_add(&cg, "PATH_INFO", r->faas.path_info ? r->faas.path_info : "");
  if (r->faas.ns_in_path)
    snprintf(buf, sizeof buf, "/faas/%s/%s", r->faas.ns, r->faas.name);
  else
    snprintf(buf, sizeof buf, "/faas/%s", r->faas.name);
  env_add(&cg, "SCRIPT_NAME", buf);
  const char *ct = http_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  env_add(&cg, "CONTENT_TYPE", ct ? ct : "");
  snprintf(buf, sizeof buf, "%zu", r->len);
  env_add(&cg, "CONTENT_LENGTH", buf);
  /* SERVER_NAME: the Host header without its port, else the listen host. */
  const char *host = http_req_header(r, MHD_HTTP_HEADER_HOST);
  size_t hl = 0;
  if (host && *host) {
    if (host[0] == '[') {
      const char *e = strchr(host, ']');
      hl = e ? (size_t)(e - host) + 1 : strlen(host);
    } else {
      hl = strcspn(host, ":");
    }
  }
  bool host_ok = hl > 0 && hl < sizeof buf;
  for (size_t i = 0; host_ok && i < hl; i++)
    if ((unsigned char)host[i] <= 0x20 || (unsigned char)host[i] >= 0x7f) host_ok = false;
  if (host_ok) snprintf(buf, sizeof buf, "%.*s", (int)hl, host);
  else snprintf(buf, sizeof buf, "%s", r->h->host);
  env_add(&cg, "SERVER_NAME", buf);
  snprintf(buf, sizeof buf, "%u", (unsigned)r->h->port);
  env_add(&cg, "SERVER_PORT", buf);
  char addr[NI_MAXHOST] = "", port[NI_MAXSERV] = "";
  request_remote(r, NULL, 0, addr, sizeof addr, port, sizeof port);
  env_add(&cg, "REMOTE_ADDR", addr);
  env_add(&cg, "REMOTE_HOST", addr);
  env_add(&cg, "REMOTE_PORT", port);
  http_req_headers(r, header_var, &cg);

  /* The function's own env first, less the keys the request sets. */
  envb out = {0};
  for (size_t i = 0; i < st->env_count; i++) {
    const char *kv = st->env[i], *eq = strchr(kv, '=');
    if (!eq || env_find(&cg, kv, (size_t)(eq - kv)) >= 0) continue;
    env_push(&out, strdup(kv));
  }
  for (size_t i = 0; i < cg.n; i++) env_push(&out, cg.v[i]);
  free(cg.v);
  if (out.oom || cg.oom) {
    cgi_env_free(out.v, out.n);
    return NULL;
  }
  *count = out.n;
  return out.v;
}

void cgi_env_free(char **env, size_t count) {
  if (!env) return;
  for (size_t i = 0; i < count; i++) free(env[i]);
  free(env);
}

/* ---- the output ----------------------------------------------------------- */

int cgi_response(const uint8_t *out, size_t len, http_response **resp, unsigned *status,
                 char *msg, size_t cap) {
  *resp = NULL;
  *status = 200;
  cgi_head h;
  int rc = cgi_parse(out, len, &h, msg, cap);
  if (rc != 0) return rc;
  size_t n = len - h.body_offset;
  *resp = http_response_new(out + h.body_offset, n, false);
  if (!*resp) {
    cgi_head_free(&h);
    return -1;
  }
  bool added = http_response_header(*resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    h.content_type ? h.content_type : "application/octet-stream");
  if (h.location) added &= http_response_header(*resp, MHD_HTTP_HEADER_LOCATION, h.location);
  for (size_t i = 0; i < h.nheaders; i++)
    added &= http_response_header(*resp, h.headers[i].name, h.headers[i].value);
  if (h.dropped[0]) added &= http_response_header(*resp, "X-Mote-Cgi-Dropped", h.dropped);
  cgi_head_free(&h);
  if (!added) {
    http_response_free(*resp);
    *resp = NULL;
    return -1;
  }
  *status = h.status;
  return 0;
}
