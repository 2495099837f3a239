/* fbtest.h - helpers shared by the Check unit tests. */
#ifndef FB_TEST_H
#define FB_TEST_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs one suite and returns the process exit code Automake expects. */
static inline int fbt_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
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

#endif
