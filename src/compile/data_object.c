/*
 * A module's data segments as an object file of their own, which the link
 * adds beside the translated C's objects. As C string escapes the bytes were
 * four characters each for the translator to write and the compiler to read:
 * Flite's 17 MB of data took most of its quick compile (tcc -c of that
 * string alone: 0.4 s; gcc -O2: 3.5 s), for bytes the object only copies.
 *
 * The object is ELF64 relocatable for the host, written with <elf.h>'s
 * structures: a section holding every segment's bytes in module order
 * (xl_data.at), one hidden symbol (xl_data) at its start, and an empty
 * .note.GNU-stack (without it GNU ld marks the shared object as wanting an
 * executable stack). The section is .data.rel.ro, allocated and writable,
 * not .rodata: tcc puts every read-only allocated section in its one
 * executable segment, which would have mapped the guest's bytes as code;
 * GNU ld puts it in the segment made read-only after relocation (RELRO),
 * and tcc in its writable one, as it did the C arrays. (tcc ignores the
 * symbol's hidden visibility: its objects export xl_data, harmless as they
 * are loaded RTLD_LOCAL.) A host other than these two needs its ELF machine
 * (and the e_flags of its ABI) here.
 */
#include <elf.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "compile_internal.h"

#if defined(__x86_64__)
#define DATA_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define DATA_MACHINE EM_AARCH64
#else
#error "data_object.c: no ELF machine for this host"
#endif

/* The sections, in order of their headers. */
enum { SEC_NULL, SEC_BYTES, SEC_NOTE, SEC_SYMTAB, SEC_STRTAB, SEC_SHSTRTAB, SEC_COUNT };

static const char shstrtab[] = "\0.data.rel.ro\0.note.GNU-stack\0.symtab\0.strtab\0.shstrtab";
enum { NAME_BYTES = 1, NAME_NOTE = 14, NAME_SYMTAB = 30, NAME_STRTAB = 38, NAME_SHSTRTAB = 46 };
static const char strtab[] = "\0" XL_DATA_SYMBOL;

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

static bool put(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n; }

static bool pad_to(FILE *f, size_t *at, size_t to) {
  static const char zeros[8];
  bool ok = put(f, zeros, to - *at);
  *at = to;
  return ok;
}

int mote_data_object_write(const char *dir, const char *name, const xl_module *x) {
  size_t size = 0;
  for (uint32_t i = 0; i < x->ndata; i++) size += x->data[i].len;
  const size_t bytes_at = sizeof(Elf64_Ehdr), symtab_at = align8(bytes_at + size);
  const size_t strtab_at = symtab_at + 2 * sizeof(Elf64_Sym);
  const size_t shstrtab_at = strtab_at + sizeof strtab;
  const size_t headers_at = align8(shstrtab_at + sizeof shstrtab);

  Elf64_Ehdr eh = {.e_type = ET_REL, .e_machine = DATA_MACHINE, .e_version = EV_CURRENT,
                   .e_shoff = headers_at, .e_ehsize = sizeof(Elf64_Ehdr),
                   .e_shentsize = sizeof(Elf64_Shdr), .e_shnum = SEC_COUNT,
                   .e_shstrndx = SEC_SHSTRTAB};
  memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_ident[EI_OSABI] = ELFOSABI_NONE;

  Elf64_Sym syms[2] = {{0}}; /* the null symbol, then xl_data: global, hidden */
  syms[1].st_name = 1;
  syms[1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
  syms[1].st_other = STV_HIDDEN;
  syms[1].st_shndx = SEC_BYTES;
  syms[1].st_size = size;

  Elf64_Shdr sh[SEC_COUNT] = {{0}};
  sh[SEC_BYTES] = (Elf64_Shdr){.sh_name = NAME_BYTES, .sh_type = SHT_PROGBITS,
                               .sh_flags = SHF_ALLOC | SHF_WRITE, .sh_offset = bytes_at,
                               .sh_size = size, .sh_addralign = 16};
  sh[SEC_NOTE] = (Elf64_Shdr){.sh_name = NAME_NOTE, .sh_type = SHT_PROGBITS,
                              .sh_offset = symtab_at, .sh_addralign = 1};
  sh[SEC_SYMTAB] = (Elf64_Shdr){.sh_name = NAME_SYMTAB, .sh_type = SHT_SYMTAB,
                                .sh_offset = symtab_at, .sh_size = sizeof syms,
                                .sh_link = SEC_STRTAB, .sh_info = 1 /* the first global */,
                                .sh_addralign = 8, .sh_entsize = sizeof(Elf64_Sym)};
  sh[SEC_STRTAB] = (Elf64_Shdr){.sh_name = NAME_STRTAB, .sh_type = SHT_STRTAB,
                                .sh_offset = strtab_at, .sh_size = sizeof strtab,
                                .sh_addralign = 1};
  sh[SEC_SHSTRTAB] = (Elf64_Shdr){.sh_name = NAME_SHSTRTAB, .sh_type = SHT_STRTAB,
                                  .sh_offset = shstrtab_at, .sh_size = sizeof shstrtab,
                                  .sh_addralign = 1};

  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "we");
  if (!f) return -1;
  size_t at = bytes_at;
  bool ok = put(f, &eh, sizeof eh);
  for (uint32_t i = 0; ok && i < x->ndata; i++) {
    ok = put(f, x->data[i].bytes, x->data[i].len);
    at += x->data[i].len;
  }
  ok = ok && pad_to(f, &at, symtab_at) && put(f, syms, sizeof syms) &&
       put(f, strtab, sizeof strtab) && put(f, shstrtab, sizeof shstrtab);
  at = shstrtab_at + sizeof shstrtab;
  ok = ok && pad_to(f, &at, headers_at) && put(f, sh, sizeof sh);
  if (fclose(f) != 0) ok = false;
  return ok ? 0 : -1;
}
