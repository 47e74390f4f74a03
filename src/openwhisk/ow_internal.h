/* Internal to src/openwhisk: what its route files share, not an API.
 *
 *   ow_routes.c             the table of /api/v1 (registered in http's), info,
 *                           namespaces, list bounds, what a path names
 *   ow_action_routes.c      actions: list, get, put (create, update), delete
 *   ow_invoke.c             invokes (blocking, non-blocking) and web actions:
 *                           the run through the core's call path, read with
 *                           the native convention
 *   ow_activation_routes.c  activations: list, get, result, logs
 */
#ifndef MOTE_OW_INTERNAL_H
#define MOTE_OW_INTERNAL_H

#include "openwhisk/openwhisk.h"

#define OW_LIST_DEFAULT 30u
#define OW_LIST_MAX 200u
#define OW_MSG_NOT_FOUND "The requested resource does not exist."
#define OW_MSG_EXISTS "resource already exists"
/* An invoke's payload and a web action's body (OpenWhisk's 1 MB). */
#define OW_PAYLOAD_MAX (1u << 20)

/* The namespace a path names: the {ns} capture, the caller's for "_". */
const char *ow_ns(const http_req *r);
/* The {name} capture when it is a valid function name, else NULL. */
const char *ow_name(const http_req *r);
/* limit (default 30, at most 200; 0: 200) and skip of a list, with
 * OpenWhisk's messages. 0, or 400 with msg. */
int ow_list_bounds(const http_req *r, const char *collection, uint32_t *limit, uint32_t *skip,
                   char *msg, size_t cap);
/* An activation's OpenWhisk record: its meta, or one made from the plain
 * record of a call that did not go through /api/v1 (a /faas call). A new
 * reference; NULL when out of memory. */
json_t *ow_activation_of(const mote_activation *a);

/* The handlers (ctx: unused). */
http_result ow_actions_list(void *ctx, http_req *r);
http_result ow_action_get(void *ctx, http_req *r);
http_result ow_action_put_route(void *ctx, http_req *r);
http_result ow_action_delete(void *ctx, http_req *r);
http_result ow_action_in_package(void *ctx, http_req *r);
http_result ow_action_invoke(void *ctx, http_req *r);
http_result ow_web(void *ctx, http_req *r);
http_result ow_activations_list(void *ctx, http_req *r);
http_result ow_activation_get(void *ctx, http_req *r);
http_result ow_activation_result(void *ctx, http_req *r);
http_result ow_activation_logs(void *ctx, http_req *r);

#endif /* MOTE_OW_INTERNAL_H */
