/*
 * base: the stack a shared object asks for. glibc's dlopen of an object
 * whose program headers have no PT_GNU_STACK, or one with execute, makes the
 * process's stacks executable; tcc (0.9.27) links its objects without one.
 * The compile pipeline marks what it builds; the runtime refuses to load an
 * object that would make the stacks executable.
 */
#ifndef MOTE_BASE_ELF_STACK_H
#define MOTE_BASE_ELF_STACK_H

#include <stdbool.h>

/* Whether dlopen of the file at path would leave the stacks as they are:
 * false for an ELF64 shared object of the host's byte order without a
 * PT_GNU_STACK, with one that asks for execute, or with more program headers
 * than this reads (64). (A file that is not such an object, or cannot be
 * read, is for dlopen to refuse.) */
bool mote_elf_stack_safe(const char *path);

/* Makes the shared object at path ask for a stack without execute: a
 * PT_GNU_STACK with execute loses it; without one, the program header table
 * is copied past every loaded segment with a PT_GNU_STACK added. A file that
 * is not such an object is left alone. 0, or -1 with errno. */
int mote_elf_mark_stack(const char *path);

#endif
