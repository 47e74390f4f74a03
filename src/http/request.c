/* request: what a handler reads of its request (http.h), over MHD. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http/http_internal.h"

mote_core *http_req_core(const http_req *r) { return r->h->core; }
const char *http_req_method(const http_req *r) { return r->method; }
const char *http_req_query(const http_req *r) { return r->query; }
const char *http_req_target(const http_req *r) { return r->uri; }
http_call_log *http_req_call_log(http_req *r) { return &r->call; }

const char *http_req_header(const http_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

typedef struct each_ctx {
  void (*fn)(void *ctx, const char *name, const char *value);
  void *ctx;
} each_ctx;

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
  (void)kind;
  each_ctx *e = cls;
  if (key) e->fn(e->ctx, key, value ? value : "");
  return MHD_YES;
}

void http_req_headers(const http_req *r, void (*fn)(void *ctx, const char *name,
                                                    const char *value), void *ctx) {
  each_ctx e = {fn, ctx};
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, each_header, &e);
}

const http_param *http_req_params(const http_req *r, size_t *n) {
  *n = r->nparams;
  return r->params;
}

const char *http_req_param(const http_req *r, const char *key) {
  for (size_t i = 0; i < r->nparams; i++)
    if (!strcmp(r->params[i].key, key)) return r->params[i].value;
  return NULL;
}

bool http_req_param_true(const http_req *r, const char *key) {
  const char *v = http_req_param(r, key);
  return v && !strcmp(v, "true");
}

const uint8_t *http_req_body(const http_req *r, size_t *len) {
  *len = r->len;
  return r->body;
}

bool request_declared_length(http_req *r, unsigned long long *n) {
  const char *cl = http_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (!cl) return false;
  char *end;
  errno = 0;
  *n = strtoull(cl, &end, 10);
  return !errno && end != cl && !*end && cl[0] != '-';
}

void request_remote(http_req *r, char *text, size_t cap, char *addr, size_t acap, char *port,
                    size_t pcap) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
  const struct sockaddr *sa = ci ? ci->client_addr : NULL;
  if (sa) {
    socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
    if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
      host[0] = serv[0] = '\0';
  }
  if (text) {
    if (!host[0]) snprintf(text, cap, "-");
    else snprintf(text, cap, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
  }
  if (addr) snprintf(addr, acap, "%s", host);
  if (port) snprintf(port, pcap, "%s", serv);
}
