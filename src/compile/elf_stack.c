/*
 * A built object's PT_GNU_STACK. tcc (0.9.27) links shared objects without
 * one and takes no -z noexecstack, and glibc's dlopen of an object without it
 * makes the process's stacks executable: /proc/self/maps showed [stack]
 * going from rw-p to rwxp when a quick-tier object was loaded. So an object
 * without the header gets one: its program header table is copied to the end
 * of the file with a PT_GNU_STACK entry (read and write, no execute) added,
 * and the ELF header points at the copy. glibc reads the table from the file
 * and keeps a copy of its own when no loaded segment holds it (dl-load.c), so
 * nothing needs to map it; gcc's objects already have the header and are left
 * as they are.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compile_internal.h"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

/* (the objects the pipeline links have a handful of program headers) */
#define MAX_PHDRS 64

static bool read_all(int fd, void *p, size_t n, off_t at) {
  return pread(fd, p, n, at) == (ssize_t)n;
}

static bool write_all(int fd, const void *p, size_t n, off_t at) {
  return pwrite(fd, p, n, at) == (ssize_t)n;
}

int mote_elf_mark_stack(const char *path) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  Elf64_Ehdr eh;
  Elf64_Phdr ph[MAX_PHDRS + 1];
  struct stat st;
  int rc = -1;
  ssize_t got = pread(fd, &eh, sizeof eh, 0);
  if (got < 0 || fstat(fd, &st) != 0) goto done;
  rc = 0; /* not a shared object of the host's kind: the loader will say so */
  if (got != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != HOST_DATA || eh.e_type != ET_DYN ||
      eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS)
    goto done;
  rc = -1;
  if (!read_all(fd, ph, eh.e_phnum * sizeof *ph, (off_t)eh.e_phoff)) goto done;
  rc = 0;
  for (unsigned i = 0; i < eh.e_phnum; i++)
    if (ph[i].p_type == PT_GNU_STACK) goto done;
  ph[eh.e_phnum] = (Elf64_Phdr){.p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W, .p_align = 16};
  off_t at = (st.st_size + 7) & ~(off_t)7;
  eh.e_phoff = (Elf64_Off)at;
  eh.e_phnum++;
  rc = write_all(fd, ph, eh.e_phnum * sizeof *ph, at) && write_all(fd, &eh, sizeof eh, 0) ? 0 : -1;
done:
  if (close(fd) != 0) rc = -1;
  return rc;
}
