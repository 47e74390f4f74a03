/*
 * base: names of work in progress in a tmp/ directory that several
 * processes share (the store's DATA/tmp, the compile cache's tmp/). Each
 * name starts with "<pid>.<nonce>." (the nonce random, one per process), so
 * that a process can tell what dead processes left there and remove it,
 * including what a former process of its own pid left (a restart as PID 1
 * in a container): the pid alone would say "alive".
 */
#ifndef MOTE_BASE_TMPDIR_H
#define MOTE_BASE_TMPDIR_H

#include <stddef.h>

#define MOTE_TMP_PREFIX_MAX 48

/* This process's prefix, "<pid>.<16 hex digits>.", into out. */
void mote_tmp_prefix(char out[MOTE_TMP_PREFIX_MAX]);

/* Removes the entries of directory `dir` (files or whole trees) that a
 * process which is gone named: a pid that no process has, or this process's
 * pid with another nonce. Anything else is left alone: a live process's
 * work, and names not made by mote_tmp_prefix. Best effort. */
void mote_tmp_clean(const char *dir);

/* Removes a file or a whole tree (symlinks not followed), best effort:
 * 0, or the first errno met. */
int mote_remove_tree(const char *path);

#endif
