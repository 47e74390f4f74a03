/*
 * Filling a mote_rt_error: every failing API call goes through here.
 */
#include <stdarg.h>
#include <stdio.h>

#include "rt/rt_internal.h"

mote_rt_status mote_rt_fail(mote_rt_error *err, mote_rt_status st, mote_trap_kind trap,
                            uint32_t detail, const char *fmt, ...) {
  if (!err) return st;
  err->status = st;
  err->trap = trap;
  err->detail = detail;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return st;
}
