/*
 * A shared object's PT_GNU_STACK (elf_stack.h). tcc 0.9.27 links objects
 * without one and takes no -z noexecstack; glibc's dlopen of such an object
 * made the process's stacks executable ([stack] in /proc/self/maps went from
 * rw-p to rwxp when a quick-tier object was loaded).
 *
 * Where the copied table goes: glibc uses the program headers in place when
 * a loaded segment's page-rounded file range covers them, else a copy of its
 * own. At the end of the file they were often inside the last data page, and
 * for a lazy object inside its .bss, which the loader zeroes and the guest's
 * slots then fill (a review found it: dl_iterate_phdr saw no PT_LOAD, and
 * mote_rt_module_extent failed). So the table goes past the end of every
 * loaded segment's file range rounded up to 64 KiB, the largest page size
 * of the hosts mote runs on (a hole in the file, unless the file ends later,
 * where it goes then): no segment's file range holds it, and glibc copies
 * it. A PT_PHDR entry would make glibc read the old table with the new
 * count: the copy turns it into PT_NULL (tcc's and gcc's objects have none
 * that needs the mark).
 */
#include "base/elf_stack.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

/* (the objects mote links have a handful of program headers) */
#define MAX_PHDRS 64
#define LARGEST_PAGE ((Elf64_Off)64 << 10)

typedef struct headers {
  Elf64_Ehdr eh;
  Elf64_Phdr ph[MAX_PHDRS + 1];
  int stack; /* the PT_GNU_STACK's index, or -1 */
} headers;

/* 1: fd holds an ELF64 shared object of the host's byte order, its headers
 * read into h; 0: it does not; -1: a read failed (errno). */
static int read_headers(int fd, headers *h) {
  ssize_t got = pread(fd, &h->eh, sizeof h->eh, 0);
  if (got < 0) return -1;
  const Elf64_Ehdr *eh = &h->eh;
  if (got != (ssize_t)sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
      eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != HOST_DATA ||
      eh->e_type != ET_DYN || eh->e_phentsize != sizeof(Elf64_Phdr))
    return 0;
  if (eh->e_phnum > MAX_PHDRS) {
    errno = E2BIG;
    return -1;
  }
  size_t n = eh->e_phnum * sizeof h->ph[0];
  got = pread(fd, h->ph, n, (off_t)eh->e_phoff);
  if (got != (ssize_t)n) {
    if (got >= 0) errno = EIO; /* a table past the end of the file */
    return -1;
  }
  h->stack = -1;
  for (int i = 0; i < eh->e_phnum; i++)
    if (h->ph[i].p_type == PT_GNU_STACK) h->stack = i;
  return 1;
}

bool mote_elf_stack_safe(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  headers h;
  int got = read_headers(fd, &h);
  int read_errno = errno;
  close(fd);
  if (got < 0) return read_errno != E2BIG; /* unreadable: dlopen says why */
  return got == 0 || (h.stack >= 0 && !(h.ph[h.stack].p_flags & PF_X));
}

static bool write_all(int fd, const void *p, size_t n, off_t at) {
  ssize_t put = pwrite(fd, p, n, at);
  if (put >= 0 && put != (ssize_t)n) errno = EIO;
  return put == (ssize_t)n;
}

int mote_elf_mark_stack(const char *path) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  headers h;
  int rc = read_headers(fd, &h);
  if (rc <= 0) goto done; /* not an object of the host's kind: the loader will say so */
  Elf64_Ehdr *eh = &h.eh;
  rc = 0;
  if (h.stack >= 0) {
    Elf64_Phdr *s = &h.ph[h.stack];
    if (s->p_flags & PF_X) {
      s->p_flags &= ~(Elf64_Word)PF_X;
      if (!write_all(fd, s, sizeof *s, (off_t)(eh->e_phoff + (Elf64_Off)h.stack * sizeof *s)))
        rc = -1;
    }
    goto done;
  }
  Elf64_Off end = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (h.ph[i].p_type == PT_LOAD && h.ph[i].p_offset + h.ph[i].p_filesz > end)
      end = h.ph[i].p_offset + h.ph[i].p_filesz;
    if (h.ph[i].p_type == PT_PHDR) h.ph[i].p_type = PT_NULL;
  }
  h.ph[eh->e_phnum] = (Elf64_Phdr){.p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W, .p_align = 16};
  eh->e_phoff = (end + LARGEST_PAGE - 1) & ~(LARGEST_PAGE - 1);
  off_t size = lseek(fd, 0, SEEK_END);
  if (size < 0) {
    rc = -1;
    goto done;
  }
  if ((Elf64_Off)size > eh->e_phoff) eh->e_phoff = ((Elf64_Off)size + 7) & ~(Elf64_Off)7;
  eh->e_phnum++;
  if (!write_all(fd, h.ph, eh->e_phnum * sizeof h.ph[0], (off_t)eh->e_phoff) ||
      !write_all(fd, eh, sizeof *eh, 0))
    rc = -1;
done:;
  int saved = errno;
  if (close(fd) != 0) rc = -1;
  else errno = saved;
  return rc < 0 ? -1 : 0;
}
