/* elf.h - reading a shared object's exported symbols (internal to core). */
#ifndef FB_HOST_ELF_H
#define FB_HOST_ELF_H

/* The dynamic symbols an ELF shared object exports: defined, global or weak,
 * default or protected visibility. Returns their count and sets *names to a
 * NULL-terminated array (new: free each name and the array), or -1 with
 * *err (new) when the file cannot be read or is not such an object. Reads
 * the file only, so no driver code (constructors) runs. Thread-safe. */
int fbi_elf_exported_symbols(const char *file, char ***names, char **err);

#endif
