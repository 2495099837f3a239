/* fbtest.h - helpers shared by the Check unit tests. */
#ifndef FB_TEST_H
#define FB_TEST_H

#include <check.h>
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

#endif
