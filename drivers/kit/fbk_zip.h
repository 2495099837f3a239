/*
 * fbk_zip.h - a deterministic zip writer for deployment packages (Lambda
 * zips, Cloud Functions source archives) and base64. Part of the driver kit
 * (prefix fbk_); see fbk.h for the memory rules. Uses zlib (raw deflate).
 *
 * Threads: pure functions of their arguments and the files they read.
 */
#ifndef FBK_ZIP_H
#define FBK_ZIP_H

#include "fbk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Builds a package from a code path: a directory (every entry below it,
 * sorted by relative path), a single file (one entry under its base name),
 * or a file that already is a zip (taken as it is). The result depends only
 * on names, contents, the execute bit and symlink targets: timestamps are
 * 1980-01-01 00:00, permissions 0644/0755 (dirs 0755, symlinks 0777), no
 * extra fields, deflate at level 9 unless storing is smaller. max_zip and
 * max_unzipped bound the archive and the sum of its entries (bytes). *out
 * is new (free()), *len its size. -1 with *err (new) when a file cannot be
 * read, a limit is passed or there are too many entries. */
int fbk_zip_path(const char *path, size_t max_zip, size_t max_unzipped, unsigned char **out,
                 size_t *len, char **err);

/* Base64 (RFC 4648, with padding) of data. new (free()). */
char *fbk_base64(const unsigned char *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* FBK_ZIP_H */
