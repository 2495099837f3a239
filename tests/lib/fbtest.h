/* fbtest.h - helpers shared by the Check unit tests. */
#ifndef FB_TEST_H
#define FB_TEST_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Runs one suite and returns the process exit code Automake expects. */
static inline int fbt_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* One step of xorshift64 on *state (nonzero): the deterministic stream
 * the tests draw their random instances from. */
static inline uint64_t fbt_xorshift(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* A fresh directory /tmp/NAME.XXXXXX in dir (n bytes). */
static inline void fbt_tmpdir(char *dir, size_t n, const char *name)
{
    snprintf(dir, n, "/tmp/%s.XXXXXX", name);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Removes dir and everything under it. */
static inline void fbt_rmtree(const char *dir)
{
    char cmd[512];
    ck_assert_int_lt(snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir), (int)sizeof cmd);
    ck_assert_int_eq(system(cmd), 0);
}

/* Standard error captured in a temporary file (logs under test). */
typedef struct fbt_capture {
    char path[64];
    int fd, saved;
} fbt_capture;

/* Sends stderr to a new temporary file until fbt_stderr_end. */
static inline void fbt_stderr_begin(fbt_capture *c)
{
    snprintf(c->path, sizeof c->path, "/tmp/fbt-stderr-XXXXXX");
    c->fd = mkstemp(c->path);
    ck_assert_int_ge(c->fd, 0);
    fflush(stderr);
    c->saved = dup(2);
    dup2(c->fd, 2);
}

/* Puts stderr back and returns what was written meanwhile (new, free()). */
static inline char *fbt_stderr_end(fbt_capture *c)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    close(c->fd);
    FILE *f = fopen(c->path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t cap = 4096, len = 0, n;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    while ((n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            cap *= 2;
            text = realloc(text, cap);
            ck_assert_ptr_nonnull(text);
        }
    }
    text[len] = '\0';
    fclose(f);
    unlink(c->path);
    return text;
}

#endif
