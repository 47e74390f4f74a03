/*
 * base: work in progress in a tmp/ directory that several processes share
 * (the store's DATA/tmp; the compile cache's tmp/, which processes in other
 * PID namespaces may share too: one cache bind-mounted into containers).
 *
 * Each process that joins such a directory holds a lock file there,
 * "<prefix>lock", flock()ed for its life, and starts every name it makes
 * there with its prefix "<pid>.<nonce>." (the nonce random, one per
 * process). A name whose prefix's lock file is gone or not held was left by
 * a process that is gone (flock is released when a process dies, in any
 * namespace), and goes when a process joins. The pid alone cannot tell:
 * another namespace's pids are not ours to see, and a restart as PID 1 in a
 * container has the pid of the process it replaced.
 */
#ifndef MOTE_BASE_TMPDIR_H
#define MOTE_BASE_TMPDIR_H

#include <stddef.h>

#define MOTE_TMP_PREFIX_MAX 48

/* This process's prefix, "<pid>.<16 hex digits>.", into out. */
void mote_tmp_prefix(char out[MOTE_TMP_PREFIX_MAX]);

/* Joins directory `dir` (it must exist): this process's lock file there is
 * made and held (kept open for the process's life, close-on-exec), and the
 * first join of a directory cleans it (mote_tmp_clean). Call it before
 * naming anything there; again is a lookup, no I/O. 0, or -1 with errno
 * when the lock cannot be had. */
int mote_tmp_join(const char *dir);

/* Removes the entries of `dir` (files or whole trees) that processes which
 * are gone named; this process's, a live one's and names not made by
 * mote_tmp_prefix are left alone. Best effort. */
void mote_tmp_clean(const char *dir);

/* Removes a file or a whole tree (symlinks not followed), best effort:
 * 0, or the first errno met. */
int mote_remove_tree(const char *path);

#endif
