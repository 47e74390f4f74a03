/*
 * cgi: the CGI mode of /faas/{name}, as WAGI does (functions deployed with
 * cgi=true).
 *
 * In: the guest's environment gets the CGI/1.1 variables of the request
 * (RFC 3875: REQUEST_METHOD, QUERY_STRING raw, PATH_INFO = the path after
 * /faas/{name}, SCRIPT_NAME, CONTENT_TYPE, CONTENT_LENGTH, SERVER_*,
 * REMOTE_ADDR, GATEWAY_INTERFACE) and HTTP_<NAME> for each request header
 * (upper case, '-' -> '_'). Authorization and Proxy-Authorization are never
 * passed; headers whose names hold '_' or other non-token characters are
 * dropped (HTTP_X_A could otherwise be spoofed by "X_A"); repeated headers
 * are joined with ", ". argv and stdin are as without CGI.
 *
 * Out: stdout starts with "Name: value" lines (LF or CRLF) up to an empty
 * line, then the body. Status ("404 Not Found") sets the status, Location
 * without Status gives 302, Content-Type is the body's type (default
 * application/octet-stream). Other headers pass through, except hop-by-hop
 * ones, X-Mote-* (the server's own), and values with control characters:
 * those are dropped and named in X-Mote-Cgi-Dropped. No header block, a
 * line that is not "Name: value", a block over 64 KiB, or a bad Status is a
 * 502.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "server/server_internal.h"

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

static bool token_char(unsigned char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* The index of the variable `key` (up to '=') in b, or -1. */
static long env_find(const envb *b, const char *key, size_t kl) {
  for (size_t i = 0; i < b->n; i++)
    if (!strncmp(b->v[i], key, kl) && b->v[i][kl] == '=') return (long)i;
  return -1;
}

static enum MHD_Result header_var(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value) {
  (void)kind;
  envb *b = cls;
  if (!key || !value || b->oom) return MHD_YES;
  if (!strcasecmp(key, "Authorization") || !strcasecmp(key, "Proxy-Authorization") ||
      !strcasecmp(key, "Content-Type") || !strcasecmp(key, "Content-Length"))
    return MHD_YES; /* secrets; and the two that have variables of their own */
  size_t kl = strlen(key);
  if (kl == 0 || kl > 200) return MHD_YES;
  char name[216] = "HTTP_";
  for (size_t i = 0; i < kl; i++) {
    unsigned char ch = (unsigned char)key[i];
    if (ch == '-') ch = '_';
    else if ((ch >= 'a' && ch <= 'z')) ch = (unsigned char)(ch - 'a' + 'A');
    else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) return MHD_YES;
    name[5 + i] = (char)ch;
  }
  name[5 + kl] = '\0';
  for (const char *p = value; *p; p++)
    if ((unsigned char)*p < 0x20 && *p != '\t') return MHD_YES;
  long at = env_find(b, name, 5 + kl);
  if (at < 0) {
    env_add(b, name, value);
    return MHD_YES;
  }
  /* A repeated header: "a, b" (RFC 3875 4.1.18). */
  char *old = b->v[at];
  size_t ol = strlen(old), vl = strlen(value);
  char *s = realloc(old, ol + 2 + vl + 1);
  if (!s) {
    b->oom = true;
    return MHD_YES;
  }
  memcpy(s + ol, ", ", 2);
  memcpy(s + ol + 2, value, vl + 1);
  b->v[at] = s;
  return MHD_YES;
}

char **cgi_env(mote_server *s, struct MHD_Connection *c, const srv_req *r,
               const mote_function_settings *st, size_t *count) {
  envb cg = {0};
  char buf[320];
  env_add(&cg, "GATEWAY_INTERFACE", "CGI/1.1");
  env_add(&cg, "SERVER_SOFTWARE", "mote");
  env_add(&cg, "SERVER_PROTOCOL", r->version[0] ? r->version : "HTTP/1.1");
  env_add(&cg, "REQUEST_METHOD", r->method);
  env_add(&cg, "QUERY_STRING", r->query ? r->query : "");
  env_add(&cg, "PATH_INFO", r->path_info ? r->path_info : "");
  snprintf(buf, sizeof buf, "/faas/%s", r->name);
  env_add(&cg, "SCRIPT_NAME", buf);
  const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  env_add(&cg, "CONTENT_TYPE", ct ? ct : "");
  snprintf(buf, sizeof buf, "%zu", r->len);
  env_add(&cg, "CONTENT_LENGTH", buf);
  /* SERVER_NAME: the Host header without its port, else the listen host. */
  const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
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
  else snprintf(buf, sizeof buf, "%s", s->host);
  env_add(&cg, "SERVER_NAME", buf);
  snprintf(buf, sizeof buf, "%u", (unsigned)s->port);
  env_add(&cg, "SERVER_PORT", buf);
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char addr[NI_MAXHOST] = "", port[NI_MAXSERV] = "";
  if (ci && ci->client_addr) {
    socklen_t sl = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                            : sizeof(struct sockaddr_in);
    if (getnameinfo(ci->client_addr, sl, addr, sizeof addr, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
      addr[0] = port[0] = '\0';
  }
  env_add(&cg, "REMOTE_ADDR", addr);
  env_add(&cg, "REMOTE_HOST", addr);
  env_add(&cg, "REMOTE_PORT", port);
  MHD_get_connection_values(c, MHD_HEADER_KIND, header_var, &cg);

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

static bool hop_by_hop(const char *name) {
  static const char *const refused[] = {"Connection", "Keep-Alive", "Proxy-Connection",
                                        "Transfer-Encoding", "TE", "Trailer", "Upgrade",
                                        "Content-Length", "Proxy-Authenticate"};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    if (!strcasecmp(name, refused[i])) return true;
  return !strncasecmp(name, "X-Mote-", 7);
}

typedef struct hdr {
  const char *name, *value; /* NUL-terminated copies in the parse buffer */
} hdr;

int cgi_response(const uint8_t *out, size_t len, struct MHD_Response **resp, unsigned *status,
                 size_t *body_len, char *msg, size_t cap) {
  *resp = NULL;
  *status = 200;
  *body_len = 0;
  static const char nohdr[] = "the function is in CGI mode but printed no header block";
  /* The end of the header block: the first empty line. */
  size_t limit = len < SRV_CGI_MAX_HEADERS ? len : SRV_CGI_MAX_HEADERS;
  size_t pos = 0, body = 0;
  bool found = false;
  while (pos < limit) {
    const uint8_t *nl = memchr(out + pos, '\n', limit - pos);
    if (!nl) break;
    size_t end = (size_t)(nl - out);
    size_t linelen = end - pos - (end > pos && out[end - 1] == '\r');
    if (linelen == 0) {
      found = true;
      body = end + 1;
      break;
    }
    pos = end + 1;
  }
  if (!found) {
    if (len == 0)
      snprintf(msg, cap, "%s (stdout was empty)", nohdr);
    else if (len >= SRV_CGI_MAX_HEADERS)
      snprintf(msg, cap, "%s (no empty line within the first %u KiB of stdout)", nohdr,
               SRV_CGI_MAX_HEADERS >> 10);
    else
      snprintf(msg, cap, "%s (no empty line ends it: print \"Content-Type: ...\", an empty "
               "line, then the body)", nohdr);
    return 1;
  }
  size_t hlen = body; /* the block, its empty line included */
  if (hlen <= 2) {
    snprintf(msg, cap, "%s (stdout starts with an empty line)", nohdr);
    return 1;
  }
  char *blk = malloc(hlen + 1);
  if (!blk) return -1;
  memcpy(blk, out, hlen);
  blk[hlen] = '\0';
  size_t nh = 0, hcap = 16;
  hdr *hs = malloc(hcap * sizeof *hs);
  if (!hs) {
    free(blk);
    return -1;
  }
  int rc = 1;
  const char *ctype = NULL, *location = NULL, *stat = NULL;
  char dropped[512] = "";
  size_t dl = 0;
  for (char *p = blk;;) {
    char *nl = strchr(p, '\n');
    *nl = '\0';
    if (nl > p && nl[-1] == '\r') nl[-1] = '\0';
    if (!*p) break; /* the empty line */
    char *colon = strchr(p, ':');
    bool name_ok = colon && colon > p;
    for (char *q = p; name_ok && q < colon; q++)
      if (!token_char((unsigned char)*q)) name_ok = false;
    if (!name_ok) {
      if (nh == 0)
        snprintf(msg, cap, "%s (the first line \"%.60s\" is not \"Name: value\")", nohdr, p);
      else
        snprintf(msg, cap, "the function is in CGI mode and printed a malformed header line "
                 "\"%.60s\" (not \"Name: value\")", p);
      goto done;
    }
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    char *e = v + strlen(v);
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
    bool value_ok = true;
    for (char *q = v; *q; q++)
      if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) value_ok = false;
    if (!strcasecmp(p, "Status") || !strcasecmp(p, "Content-Type") ||
        !strcasecmp(p, "Location")) {
      const char **slot = !strcasecmp(p, "Status") ? &stat
                          : !strcasecmp(p, "Location") ? &location : &ctype;
      if (*slot) {
        snprintf(msg, cap, "the function is in CGI mode and printed %s twice", p);
        goto done;
      }
      if (!value_ok || !*v) {
        snprintf(msg, cap, "the function is in CGI mode and printed an invalid %s header", p);
        goto done;
      }
      *slot = v;
    } else if (!value_ok || hop_by_hop(p)) {
      int w = snprintf(dropped + dl, sizeof dropped - dl, "%s%.64s", dl ? ", " : "", p);
      if (w > 0 && (size_t)w < sizeof dropped - dl) dl += (size_t)w;
    } else {
      if (nh == hcap) {
        hdr *g = realloc(hs, 2 * hcap * sizeof *hs);
        if (!g) {
          rc = -1;
          goto done;
        }
        hs = g;
        hcap *= 2;
      }
      hs[nh++] = (hdr){p, v};
    }
    p = nl + 1;
  }
  if (!stat && !location && !ctype && nh == 0) {
    snprintf(msg, cap, "%s (every header it printed was refused: %s)", nohdr, dropped);
    goto done;
  }
  if (stat) {
    /* "NNN reason": three digits, 200..599, then nothing or a space. */
    const char *q = stat;
    bool ok = q[0] >= '1' && q[0] <= '9' && q[1] >= '0' && q[1] <= '9' && q[2] >= '0' &&
              q[2] <= '9' && (q[3] == '\0' || q[3] == ' ' || q[3] == '\t');
    unsigned code = ok ? (unsigned)((q[0] - '0') * 100 + (q[1] - '0') * 10 + (q[2] - '0')) : 0;
    if (!ok || code < 200 || code > 599) {
      snprintf(msg, cap, "the function is in CGI mode and printed an invalid Status \"%.40s\" "
               "(want \"NNN Reason\", 200 to 599)", stat);
      goto done;
    }
    *status = code;
  } else if (location) {
    *status = 302;
  }
  *resp = MHD_create_response_from_buffer(len - body, (void *)(out + body), MHD_RESPMEM_MUST_COPY);
  *body_len = len - body;
  if (!*resp) {
    rc = -1;
    goto done;
  }
  bool added = MHD_add_response_header(*resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                       ctype ? ctype : "application/octet-stream") == MHD_YES;
  if (location)
    added &= MHD_add_response_header(*resp, MHD_HTTP_HEADER_LOCATION, location) == MHD_YES;
  for (size_t i = 0; i < nh; i++)
    added &= MHD_add_response_header(*resp, hs[i].name, hs[i].value) == MHD_YES;
  if (dl) added &= MHD_add_response_header(*resp, "X-Mote-Cgi-Dropped", dropped) == MHD_YES;
  if (!added) {
    MHD_destroy_response(*resp);
    *resp = NULL;
    rc = -1;
    goto done;
  }
  rc = 0;
done:
  free(hs);
  free(blk);
  return rc;
}
