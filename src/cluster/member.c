/*
 * member: this node's membership. A lease of CLUSTER_LEASE_TTL_S (2 s),
 * renewed every CLUSTER_RENEW_MS (250 ms: 8 renewals per TTL, so a slow
 * renewal or two do not cost the node its place), and the node's record
 * nodes/NAME under it: when the node dies its record goes with its lease,
 * within 2 s, and its peers' watches hear of it at once (OpenWhisk's
 * scheduler keeps a 10 s lease renewed every 500 ms; we want a dead node felt
 * for less than a second behind HAProxy, whose health checks do that part,
 * and its functions placed elsewhere within the TTL).
 *
 * A renewal that finds the lease gone (etcd was away longer than the TTL,
 * or restarted) grants a new one and puts the record again. The same
 * thread makes the cluster secret when the cluster has none, and --dev's
 * namespace and key when they are missing (each a create-if-absent
 * transaction, so two nodes starting at once agree).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "cluster/cluster_internal.h"

/* Creates key with value unless it exists (a transaction). */
static etcd_status create_if_absent(etcd *e, const char *key, const char *value) {
  etcd_cmp absent = {.key = key, .target = ETCD_CREATE, .op = ETCD_EQUAL, .number = 0};
  etcd_op put = {.kind = ETCD_OP_PUT, .key = key, .value = value, .len = strlen(value)};
  bool ok;
  return etcd_txn(e, &absent, 1, &put, 1, NULL, 0, &ok, NULL);
}

static bool make_secret(mote_cluster *cl) {
  uint8_t raw[32];
  char hex[CL_SECRET_HEX];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  bool ok = create_if_absent(cl->etcd, CL_PREFIX "secret", hex) == ETCD_OK;
  sodium_memzero(hex, sizeof hex);
  return ok;
}

static bool make_dev(mote_cluster *cl) {
  char key[CL_KEY_MAX];
  mote_key_record rec;
  char secret[MOTE_STORE_KEY_LEN + 1];
  mote_store_error se;
  if (mote_store_key_seal(cl->dev_ns, cl->dev_uuid, cl->dev_key, &rec, secret, &se) !=
      MOTE_STORE_OK) {
    fprintf(stderr, "mote serve: --dev: %s\n", se.message);
    return true; /* nothing to retry */
  }
  mote_namespace_limits none = {0};
  char *ns_json = rec_ns_json(rec.created_ms, &none), *key_json = rec_key_json(&rec);
  bool ok = ns_json && key_json;
  snprintf(key, sizeof key, CL_PREFIX "ns/%s", cl->dev_ns);
  ok = ok && create_if_absent(cl->etcd, key, ns_json) == ETCD_OK;
  snprintf(key, sizeof key, CL_PREFIX "keys/%s", cl->dev_uuid);
  ok = ok && create_if_absent(cl->etcd, key, key_json) == ETCD_OK;
  free(ns_json);
  free(key_json);
  return ok;
}

/* Grants a lease and puts the node's record under it: 0 when etcd did not. */
static int64_t join(mote_cluster *cl, const char *record) {
  int64_t lease = 0;
  char key[CL_KEY_MAX];
  snprintf(key, sizeof key, CL_PREFIX "nodes/%s", cl->node);
  if (etcd_lease_grant(cl->etcd, CLUSTER_LEASE_TTL_S, &lease) != ETCD_OK) return 0;
  if (etcd_put(cl->etcd, key, record, strlen(record), lease, NULL) != ETCD_OK) {
    etcd_lease_revoke(cl->etcd, lease);
    return 0;
  }
  return lease;
}

static void wait_ms(mote_cluster *cl, unsigned ms) {
  struct timespec until = mote_time_in(CLOCK_REALTIME, ms);
  if (!cl->stop) pthread_cond_timedwait(&cl->wake, &cl->lock, &until);
}

void *member_main(void *arg) {
  mote_cluster *cl = arg;
  char *record = rec_node_json(cl->url, cl->tag);
  if (!record) {
    fprintf(stderr, "mote serve: cluster: out of memory: this node cannot join\n");
    return NULL;
  }
  bool said_unreachable = false;
  pthread_mutex_lock(&cl->lock);
  while (!cl->stop) {
    int64_t lease = cl->lease;
    bool need_secret = !cl->secret_made, need_dev = cl->dev_ns[0] && !cl->dev_made;
    pthread_mutex_unlock(&cl->lock);
    bool ok;
    if (!lease) {
      lease = join(cl, record);
      ok = lease != 0;
    } else {
      int64_t ttl = 0;
      ok = etcd_lease_keepalive(cl->etcd, lease, &ttl) == ETCD_OK;
      if (ok && ttl <= 0) { /* gone while etcd was away: join again at once */
        lease = join(cl, record);
        ok = lease != 0;
      }
    }
    if (ok && need_secret) need_secret = !make_secret(cl);
    if (ok && need_dev) need_dev = !make_dev(cl);
    if (!ok && !said_unreachable)
      fprintf(stderr, "mote serve: cluster: etcd does not answer (%s); serving on\n",
              etcd_error());
    else if (ok && said_unreachable)
      fprintf(stderr, "mote serve: cluster: etcd answers again\n");
    said_unreachable = !ok;
    pthread_mutex_lock(&cl->lock);
    cl->lease = lease;
    cl->lease_ok = ok;
    cl->secret_made = !need_secret;
    if (cl->dev_ns[0]) cl->dev_made = !need_dev;
    cl_publish_state(cl);
    wait_ms(cl, CLUSTER_RENEW_MS);
  }
  pthread_mutex_unlock(&cl->lock);
  free(record);
  return NULL;
}
