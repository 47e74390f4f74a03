/*
 * Marking host code that runs inside a guest call.
 *
 * While a thread is inside mote_rt_call / mote_rt_instantiate, a SIGSEGV or
 * SIGBUS inside a linear memory or on the stack guard is a guest trap. Code
 * that runs on behalf of the host in the middle of such a call (a host
 * function the guest imported) must say so, so that a fault in it crashes
 * the process with a report instead of being passed off as a guest trap:
 *
 *   u32 my_host_fn(void *ctx, u32 a) {
 *     mote_rt_host_enter();
 *     ... host work ...
 *     mote_rt_host_leave();
 *     return r;
 *   }
 *
 * Stack: a guest that recursed deep may call the host with almost no stack
 * left, and a fault in host code is not a trap. So mote_rt_host_enter,
 * called from guest code with less than a reserve left (128 KiB,
 * src/rt/thread.c), does not return: it stops the guest with "call stack
 * exhausted", as if the guest's own next call had found no room. Call it
 * first, before the host function takes anything (a lock, memory).
 *
 * The pair nests and is cheap (a few TLS reads and writes). A host function may leave
 * without mote_rt_host_leave by calling mote_rt_raise (or by a trap in a
 * nested mote_rt_call it made): the trap target restores the state.
 *
 * Deadlines (rt.h): the code between the two is never interrupted by a
 * deadline. If the deadline passed meanwhile, mote_rt_host_leave does not
 * return: it stops the guest with MOTE_TRAP_TIMEOUT, as mote_rt_raise would.
 * So call it last, after every clean-up, just before returning. Host code
 * outside the pair (before enter, after leave) may be cut off anywhere.
 *
 * Call these only around host code. Do not wrap a call to an import that is
 * bound to another instance's export (mote_rt_instance_export): that callee is
 * guest code, and its out-of-bounds accesses would then crash the process
 * instead of trapping.
 *
 * They are for host code linked into mote; compiled modules never call them
 * (the glue cannot know whether an import is bound to host or guest code).
 */
#ifndef MOTE_RT_GUEST_H
#define MOTE_RT_GUEST_H

void mote_rt_host_enter(void);
void mote_rt_host_leave(void);

#endif /* MOTE_RT_GUEST_H */
