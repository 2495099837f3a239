/* elf.c - the dynamic symbols a shared object exports, read from the file
 * (no dlopen), for the registry's one-export rule and the kit's visibility
 * test. */
#include "config.h"
#include "host/elf.h"
#include "base/util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Counting symbols from the file, not through dlsym, keeps the check before
 * any driver code (constructors) runs. */
int fbi_elf_exported_symbols(const char *file, char ***names, char **err)
{
    *names = NULL;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = fbi_xasprintf("cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(fd);
        *err = fbi_xstrdup("not an ELF shared object (file too small)");
        return -1;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        *err = fbi_xasprintf("cannot map: %s", strerror(errno));
        return -1;
    }
    int count = -1;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) {
        *err = fbi_xstrdup("not a 64-bit ELF file");
        goto out;
    }
    if (eh->e_type != ET_DYN) {
        *err = fbi_xstrdup("not a shared object (ELF type is not ET_DYN)");
        goto out;
    }
    if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff > size || (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum) {
        *err = fbi_xstrdup("malformed ELF section table");
        goto out;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(m + eh->e_shoff);
    size_t cap = 0;
    count = 0;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM) continue;
        if (sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
            sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset) {
            *err = fbi_xstrdup("malformed ELF dynamic symbol table");
            count = -1;
            goto out;
        }
        const Elf64_Shdr *strsh = &sh[sh[i].sh_link];
        if (strsh->sh_offset > size || strsh->sh_size > size - strsh->sh_offset) {
            *err = fbi_xstrdup("malformed ELF string table");
            count = -1;
            goto out;
        }
        const char *strtab = (const char *)m + strsh->sh_offset;
        const Elf64_Sym *sym = (const Elf64_Sym *)(m + sh[i].sh_offset);
        size_t nsym = sh[i].sh_size / sizeof(Elf64_Sym);
        for (size_t k = 0; k < nsym; k++) {
            unsigned bind = ELF64_ST_BIND(sym[k].st_info);
            unsigned vis = ELF64_ST_VISIBILITY(sym[k].st_other);
            if (sym[k].st_shndx == SHN_UNDEF) continue;
            if (bind != STB_GLOBAL && bind != STB_WEAK) continue;
            if (vis != STV_DEFAULT && vis != STV_PROTECTED) continue;
            if (sym[k].st_name >= strsh->sh_size) continue;
            const char *nm = strtab + sym[k].st_name;
            if (!memchr(nm, '\0', strsh->sh_size - sym[k].st_name)) continue;
            if ((size_t)count + 1 >= cap) {
                cap = cap ? cap * 2 : 8;
                *names = fbi_xrealloc(*names, cap * sizeof(char *));
            }
            (*names)[count++] = fbi_xstrdup(nm);
            (*names)[count] = NULL;
        }
    }
out:
    munmap(m, size);
    return count;
}

