/* reply: responses (http.h) over MHD. Every reply goes through http_reply,
 * which notes status and size in the request for the access log and counts
 * the answers of deploy routes (mote_deploys_total). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

http_response *http_response_new(const void *body, size_t len, bool take) {
  http_response *resp = malloc(sizeof *resp);
  struct MHD_Response *m =
      resp ? MHD_create_response_from_buffer(len, (void *)(body ? body : ""),
                                             take && body ? MHD_RESPMEM_MUST_FREE
                                             : body       ? MHD_RESPMEM_MUST_COPY
                                                          : MHD_RESPMEM_PERSISTENT)
           : NULL;
  if (!m) {
    free(resp);
    if (take) free((void *)body);
    return NULL;
  }
  resp->mhd = m;
  resp->len = len;
  return resp;
}

http_response *http_response_json(json_t *body) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!text) text = strdup("{\"error\":\"out of memory\",\"code\":\"internal\"}");
  if (!text) return NULL;
  size_t n = strlen(text);
  /* One line per reply: easier to read with curl and to parse line-wise. */
  char *line = realloc(text, n + 2);
  if (line) {
    text = line;
    text[n++] = '\n';
    text[n] = '\0';
  }
  http_response *resp = http_response_new(text, n, true);
  if (resp) http_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  return resp;
}

bool http_response_header(http_response *resp, const char *name, const char *value) {
  return MHD_add_response_header(resp->mhd, name, value) == MHD_YES;
}

void http_response_free(http_response *resp) {
  if (!resp) return;
  MHD_destroy_response(resp->mhd);
  free(resp);
}

bool http_queue(http_req *r, unsigned status, http_response *resp) {
  if (MHD_queue_response(r->conn, status, resp->mhd) != MHD_YES) return false;
  r->status = status;
  r->bytes_out = resp->len;
  /* MHD holds the body until it is all written (held.c) */
  char client[64] = "";
  if (resp->len >= HTTP_BUDGET_LARGE) request_remote(r, NULL, 0, client, sizeof client, NULL, 0);
  held_take(&r->h->budget, &r->budget, resp->len, client);
  if (r->route && (r->route->flags & HTTP_ROUTE_DEPLOY) && !strcmp(r->method, "PUT"))
    core_count_deploy(r->h->core, status / 100 == 2);
  return true;
}

http_result http_reply(http_req *r, unsigned status, http_response *resp) {
  if (!resp) return HTTP_CLOSE;
  bool queued = http_queue(r, status, resp);
  http_response_free(resp);
  return queued ? HTTP_DONE : HTTP_CLOSE;
}

http_result http_reply_json(http_req *r, unsigned status, json_t *body) {
  return http_reply(r, status, http_response_json(body));
}
