/* check_kit_visibility.c - a module that links drivers/kit exports only
 * fb_driver_entry (the kit is built -fvisibility=hidden), read from its ELF
 * dynamic symbol table with core's fbi_elf_exported_symbols and checked with
 * dlopen/dlsym. */
#include "config.h"
#include "fedbroker/fedbroker.h"
#include "host/elf.h"
#include "../lib/fbtest.h"

#include <check.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define PROBE "tests/kit/.libs/kitprobe.so"

START_TEST(only_the_entry_point)
{
    char **names = NULL;
    char *err = NULL;
    int n = fbi_elf_exported_symbols(PROBE, &names, &err);
    ck_assert_msg(n >= 0, "%s: %s", PROBE, err ? err : "?");
    for (int i = 0; i < n; i++) {
        ck_assert_msg(strcmp(names[i], "fb_driver_entry") == 0, "%s exports %s", PROBE, names[i]);
        free(names[i]);
    }
    free(names);
    ck_assert_int_eq(n, 1);

    void *h = dlopen("./" PROBE, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(h != NULL, "%s", dlerror());
    ck_assert_ptr_nonnull(dlsym(h, "fb_driver_entry"));
    ck_assert_ptr_null(dlsym(h, "fbk_sigv4_sign"));
    ck_assert_ptr_null(dlsym(h, "fbk_aws_creds_resolve"));
    dlclose(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kit_visibility");
    TCase *tc = tcase_create("elf");
    tcase_add_test(tc, only_the_entry_point);
    suite_add_tcase(s, tc);
    return fbt_run(s);
}
