/* check_registry.c - the loader refuses each kind of bad driver with its own
 * message, before running its code where it can, and loads good ones. The
 * bad drivers are real .so files built from tests/drivers/testdrv.c. */
#include "config.h"
#include "../lib/fbtest.h"
#include "fedbroker/fedbroker.h"
#include "host/elf.h"
#include "base/util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

/* Copies a built test driver into dir under the given file name. */
static void install(const char *dir, const char *built, const char *as, unsigned mode)
{
    const char *src_dir = getenv("TESTDRV_DIR");
    ck_assert_msg(src_dir != NULL, "TESTDRV_DIR is not set");
    char *src = fbi_xasprintf("%s/%s.so", src_dir, built);
    char *err = NULL;
    size_t len;
    char *data = fbi_read_file(src, 64u << 20, &len, &err);
    ck_assert_msg(data != NULL, "%s", err ? err : "");
    char *dst = fbi_xasprintf("%s/%s", dir, as);
    ck_assert_int_eq(fbi_write_file_atomic(dst, data, len, &err), 0);
    ck_assert_int_eq(chmod(dst, mode), 0);
    free(data);
    free(src);
    free(dst);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fbreg.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    chmod(tmpdir, 0755);
}

static void teardown(void)
{
    char *cmd = fbi_xasprintf("rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
}

/* Every diagnostic of d as "summary | detail" lines (new). */
static char *diag_text(const fb_diag *d)
{
    fbi_buf b;
    fbi_buf_init(&b);
    for (size_t i = 0; i < fb_diag_count(d); i++) {
        fbi_buf_puts(&b, fb_diag_summary(d, i));
        fbi_buf_puts(&b, " | ");
        if (fb_diag_detail(d, i)) fbi_buf_puts(&b, fb_diag_detail(d, i));
        fbi_buf_putc(&b, '\n');
    }
    fbi_buf_puts(&b, "");
    return fbi_buf_steal(&b);
}

/* Loads path and returns the concatenated diagnostics (new). */
static char *load_path(const char *path, fb_status *st)
{
    fb_registry *r = fb_registry_new();
    fb_diag *d = fb_diag_new();
    const fb_driver *drv = NULL;
    *st = fb_registry_load_file(r, path, NULL, &drv, d);
    char *text = diag_text(d);
    if (*st == FB_OK) ck_assert_ptr_nonnull(drv);
    fb_diag_free(d);
    fb_registry_free(r);
    return text;
}

/* Loads tmpdir/file and returns the concatenated diagnostics (new). */
static char *load(const char *file, fb_status *st)
{
    char *path = fbi_xasprintf("%s/%s", tmpdir, file);
    char *text = load_path(path, st);
    free(path);
    return text;
}

/* Opens the driver path list; returns how many drivers loaded and the
 * diagnostics in *text (new). */
static size_t open_path(const char *list, char **text)
{
    fb_registry *r = NULL;
    fb_diag *d = fb_diag_new();
    fb_registry_open(list, &r, d);
    size_t n = fb_registry_count(r);
    *text = diag_text(d);
    fb_registry_free(r);
    fb_diag_free(d);
    return n;
}

static void expect_in(const char *text, const char *needle)
{
    ck_assert_msg(strstr(text, needle) != NULL, "expected '%s' in: %s", needle, text);
}

static void expect_refused(const char *file, const char *needle)
{
    fb_status st;
    char *msg = load(file, &st);
    ck_assert_msg(st != FB_OK, "%s was loaded but should be refused", file);
    ck_assert_msg(strstr(msg, needle) != NULL, "%s: expected '%s' in: %s", file, needle, msg);
    free(msg);
}

START_TEST(good_driver_loads)
{
    install(tmpdir, "testdrv", "testdrv.so", 0755);
    fb_status st;
    char *msg = load("testdrv.so", &st);
    ck_assert_msg(st == FB_OK, "refused: %s", msg);
    free(msg);
}
END_TEST

START_TEST(wrong_major_refused)
{
    install(tmpdir, "wrong_major", "wrong_major.so", 0755);
    expect_refused("wrong_major.so", "wrong ABI major version: the driver was built for driver ABI 2.");
}
END_TEST

START_TEST(newer_minor_refused)
{
    install(tmpdir, "newer_minor", "newer_minor.so", 0755);
    expect_refused("newer_minor.so", "newer ABI minor version");
}
END_TEST

START_TEST(missing_entry_refused)
{
    install(tmpdir, "no_entry", "no_entry.so", 0755);
    expect_refused("no_entry.so", "missing entry point");
}
END_TEST

START_TEST(extra_export_refused)
{
    install(tmpdir, "extra_export", "extra_export.so", 0755);
    expect_refused("extra_export.so", "exports 2 symbols");
    expect_refused("extra_export.so", "testdrv_helper");
}
END_TEST

START_TEST(bad_caps_refused)
{
    install(tmpdir, "bad_caps", "bad_caps.so", 0755);
    expect_refused("bad_caps.so", "caps has FB_CAP_RENDER but render is NULL");
}
END_TEST

START_TEST(world_writable_file_refused)
{
    install(tmpdir, "testdrv", "testdrv.so", 0757);
    expect_refused("testdrv.so", "is world-writable");
    expect_refused("testdrv.so", "chmod o-w");
}
END_TEST

START_TEST(world_writable_dir_refused)
{
    install(tmpdir, "testdrv", "testdrv.so", 0755);
    ck_assert_int_eq(chmod(tmpdir, 0777), 0);
    expect_refused("testdrv.so", "directory");
    expect_refused("testdrv.so", "is world-writable");
    /* fb_registry_open refuses the whole directory too */
    fb_registry *r = NULL;
    fb_diag *d = fb_diag_new();
    fb_registry_open(tmpdir, &r, d);
    ck_assert_uint_eq(fb_registry_count(r), 0);
    ck_assert_uint_ge(fb_diag_errors(d), 1);
    fb_registry_free(r);
    fb_diag_free(d);
    chmod(tmpdir, 0755);
}
END_TEST

START_TEST(bad_names_refused)
{
    install(tmpdir, "testdrv", "Test.so", 0755);
    expect_refused("Test.so", "[a-z0-9_-]");
    install(tmpdir, "testdrv", "other.so", 0755);
    expect_refused("other.so", "calls itself 'testdrv'");
}
END_TEST

START_TEST(not_elf_refused)
{
    char *p = fbi_xasprintf("%s/junk.so", tmpdir);
    char *err = NULL;
    const char text[] = "this is not a shared object, just text padded to be long enough "
                        "for an ELF header check to read past it.";
    ck_assert_int_eq(fbi_write_file_atomic(p, text, sizeof text, &err), 0);
    chmod(p, 0755);
    free(p);
    expect_refused("junk.so", "not a 64-bit ELF file");
}
END_TEST

START_TEST(exported_symbol_count)
{
    char **names = NULL, *err = NULL;
    char *p = fbi_xasprintf("%s/testdrv.so", getenv("TESTDRV_DIR"));
    int n = fbi_elf_exported_symbols(p, &names, &err);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(names[0], "fb_driver_entry");
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(p);
}
END_TEST

START_TEST(open_directory_mixture)
{
    install(tmpdir, "testdrv", "testdrv.so", 0755);
    install(tmpdir, "wrong_major", "wrong_major.so", 0755);
    install(tmpdir, "no_entry", "no_entry.so", 0755);
    fb_registry *r = NULL;
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_registry_open(tmpdir, &r, d), FB_OK);
    ck_assert_uint_eq(fb_registry_count(r), 1);
    ck_assert_str_eq(fb_registry_get(r, 0)->name, "testdrv");
    ck_assert_uint_eq(fb_diag_errors(d), 2);
    ck_assert_ptr_nonnull(fb_registry_find(r, "testdrv"));
    ck_assert_ptr_null(fb_registry_find(r, "wrong_major"));
    fb_registry_free(r);
    fb_diag_free(d);
}
END_TEST

/* Registries opened and freed on several threads at once, as serve's GET
 * /v1/drivers does per request: once beside a registry that keeps the
 * driver loaded (as an issuer's does; every open then runs the entry point
 * of the same mapped driver, which writes its statics) and once without
 * (a free may unmap the driver and the next open map the file at the same
 * address). Each open sees the driver. Under --enable-sanitizers=thread
 * the test fails (TSan's exit status, 66) when loads and unloads are not
 * ordered: before they were serialised, the second phase gave 19 reports
 * in each of 3 runs (the driver struct read in load_real against the
 * reader's mmap of the file at the unmapped address; ld.so's frees). */
enum { OPEN_THREADS = 4, OPEN_ROUNDS = 25 };

static void *open_free_loop(void *arg)
{
    int *bad = arg;
    for (int i = 0; i < OPEN_ROUNDS; i++) {
        fb_registry *r = NULL;
        fb_diag *d = fb_diag_new();
        if (fb_registry_open(tmpdir, &r, d) != FB_OK || fb_registry_count(r) != 1 ||
            !fb_registry_find(r, "testdrv"))
            (*bad)++;
        fb_registry_free(r);
        fb_diag_free(d);
    }
    return NULL;
}

START_TEST(concurrent_opens)
{
    install(tmpdir, "testdrv", "testdrv.so", 0755);
    for (int keep_loaded = 1; keep_loaded >= 0; keep_loaded--) {
        fb_registry *keep = NULL;
        fb_diag *d = fb_diag_new();
        if (keep_loaded) {
            ck_assert_int_eq(fb_registry_open(tmpdir, &keep, d), FB_OK);
            ck_assert_uint_eq(fb_registry_count(keep), 1);
        }
        pthread_t th[OPEN_THREADS];
        int bad[OPEN_THREADS] = {0};
        for (int k = 0; k < OPEN_THREADS; k++)
            ck_assert_int_eq(pthread_create(&th[k], NULL, open_free_loop, &bad[k]), 0);
        for (int k = 0; k < OPEN_THREADS; k++) pthread_join(th[k], NULL);
        for (int k = 0; k < OPEN_THREADS; k++) ck_assert_int_eq(bad[k], 0);
        fb_registry_free(keep);
        fb_diag_free(d);
    }
}
END_TEST

START_TEST(duplicate_name_first_wins)
{
    char *sub = fbi_xasprintf("%s/second", tmpdir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    install(tmpdir, "testdrv", "testdrv.so", 0755);
    install(sub, "testdrv", "testdrv.so", 0755);
    char *path = fbi_xasprintf("%s:%s", tmpdir, sub);
    fb_registry *r = NULL;
    fb_diag *d = fb_diag_new();
    fb_registry_open(path, &r, d);
    ck_assert_uint_eq(fb_registry_count(r), 1);
    ck_assert_uint_eq(fb_diag_count(d), 1);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "already loaded"));
    fb_registry_free(r);
    fb_diag_free(d);
    free(path);
    free(sub);
}
END_TEST

START_TEST(missing_directory_is_an_error)
{
    fb_registry *r = NULL;
    fb_diag *d = fb_diag_new();
    ck_assert_int_eq(fb_registry_open("/nonexistent/fedbroker-drivers", &r, d), FB_INVALID);
    ck_assert_ptr_nonnull(strstr(fb_diag_summary(d, 0), "cannot read driver directory"));
    fb_registry_free(r);
    fb_diag_free(d);
}
END_TEST

START_TEST(caps_rules)
{
    fb_driver d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    char *why = NULL;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), -1); /* no configure */
    free(why);
    why = NULL;
    d.configure = (void *)1;
    d.teardown = (void *)1;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), 0);
    d.caps = FB_CAP_FUNCTION;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "offers or validate"));
    free(why);
    why = NULL;
    d.offers = (void *)1;
    d.validate = (void *)1;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), 0);
    d.caps |= FB_CAP_DEPLOY;
    d.apply = (void *)1;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "apply, observe or destroy"));
    free(why);
    why = NULL;
    d.observe = (void *)1;
    d.destroy = (void *)1;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), 0);
    d.caps = FB_CAP_GPU | FB_CAP_DEPLOY;
    d.offers = NULL;
    d.validate = NULL;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), -1);
    free(why);
    why = NULL;
    d.caps = UINT64_C(1) << 40;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "unknown bits"));
    free(why);
    why = NULL;
    /* ATTEST (1.3) <=> attest, and only with DEPLOY */
    d.caps = FB_CAP_FUNCTION | FB_CAP_DEPLOY;
    d.offers = (void *)1;
    d.validate = (void *)1;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), 0);
    d.caps |= FB_CAP_ATTEST;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "attest is NULL"));
    free(why);
    why = NULL;
    d.attest = (void *)1;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), 0);
    d.caps &= ~FB_CAP_ATTEST;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "lacks FB_CAP_ATTEST"));
    free(why);
    why = NULL;
    d.caps = FB_CAP_FUNCTION | FB_CAP_ATTEST;
    d.apply = d.observe = d.destroy = NULL;
    ck_assert_int_eq(fb_driver_check_caps(&d, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "without FB_CAP_DEPLOY"));
    free(why);
}
END_TEST

/* ---- the loader's permission rules, one bypass each (issue 9, item 8) ---- */

/* tmpdir/NAME created with mode (umask aside); new path. */
static char *subdir(const char *name, unsigned mode)
{
    char *p = fbi_xasprintf("%s/%s", tmpdir, name);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    ck_assert_int_eq(chmod(p, mode), 0);
    return p;
}

START_TEST(symlink_to_world_writable_dir_refused)
{
    /* the link sits in a good directory; what it points at does not */
    char *ww = subdir("ww", 0777);
    install(ww, "testdrv", "testdrv.so", 0755);
    char *target = fbi_xasprintf("%s/testdrv.so", ww);
    char *link = fbi_xasprintf("%s/testdrv.so", tmpdir);
    ck_assert_int_eq(symlink(target, link), 0);
    fb_status st;
    char *msg = load("testdrv.so", &st);
    ck_assert_msg(st != FB_OK, "a symlink to a .so in a world-writable directory was loaded");
    expect_in(msg, "is world-writable (mode 0777)");
    expect_in(msg, "is a symlink to");
    char *fix = fbi_xasprintf("chmod go-w %s", ww);
    expect_in(msg, fix);
    free(msg);
    /* the directory scan refuses it too */
    char *list;
    ck_assert_uint_eq(open_path(tmpdir, &list), 0);
    expect_in(list, "is a symlink to");
    free(list);
    /* and with the target's directory fixed, the same link loads */
    ck_assert_int_eq(chmod(ww, 0755), 0);
    msg = load("testdrv.so", &st);
    ck_assert_msg(st == FB_OK, "refused: %s", msg);
    free(msg);
    free(fix);
    free(link);
    free(target);
    free(ww);
}
END_TEST

START_TEST(dir_in_world_writable_parent_refused)
{
    char *ww = subdir("ww", 0777);
    char *drv = fbi_xasprintf("%s/drv", ww);
    ck_assert_int_eq(mkdir(drv, 0755), 0);
    ck_assert_int_eq(chmod(drv, 0755), 0);
    install(drv, "testdrv", "testdrv.so", 0755);
    char *file = fbi_xasprintf("%s/testdrv.so", drv);
    fb_status st;
    char *msg = load_path(file, &st);
    ck_assert_msg(st != FB_OK, "a driver below a 0777 directory was loaded");
    char *want = fbi_xasprintf("directory %s is world-writable (mode 0777), above %s", ww, file);
    expect_in(msg, want);
    free(want);
    free(msg);
    char *list;
    ck_assert_uint_eq(open_path(drv, &list), 0);
    expect_in(list, "is world-writable (mode 0777)");
    free(list);
    /* the edge: the same parent with the sticky bit (as /tmp) is fine */
    ck_assert_int_eq(chmod(ww, 01777), 0);
    msg = load_path(file, &st);
    ck_assert_msg(st == FB_OK, "refused below a sticky 1777 directory: %s", msg);
    free(msg);
    ck_assert_uint_eq(open_path(drv, &list), 1);
    free(list);
    free(file);
    free(drv);
    free(ww);
}
END_TEST

START_TEST(group_writable_refused)
{
    char *gw = subdir("gw", 0775);
    install(gw, "testdrv", "testdrv.so", 0755);
    char *file = fbi_xasprintf("%s/testdrv.so", gw);
    fb_status st;
    char *msg = load_path(file, &st);
    ck_assert_msg(st != FB_OK, "a driver in a group-writable directory was loaded");
    expect_in(msg, "is group-writable (mode 0775)");
    char *fix = fbi_xasprintf("chmod g-w %s", gw);
    expect_in(msg, fix);
    free(fix);
    free(msg);
    ck_assert_int_eq(chmod(gw, 0755), 0);
    ck_assert_int_eq(chmod(file, 0775), 0);
    msg = load_path(file, &st);
    ck_assert_msg(st != FB_OK, "a group-writable driver file was loaded");
    expect_in(msg, "file");
    fix = fbi_xasprintf("chmod g-w %s", file);
    expect_in(msg, fix);
    free(fix);
    free(msg);
    free(file);
    free(gw);
}
END_TEST

/* Ownership needs root to give a file away; 65534 is "nobody" on Debian. */
#define OTHER_UID 65534

START_TEST(other_owner_file_refused)
{
    if (geteuid() != 0) {
        printf("skip: other_owner_file_refused needs root to chown a file to uid %d\n", OTHER_UID);
        return;
    }
    install(tmpdir, "testdrv", "testdrv.so", 0755);
    char *file = fbi_xasprintf("%s/testdrv.so", tmpdir);
    ck_assert_int_eq(chown(file, OTHER_UID, (gid_t)-1), 0);
    chmod(file, 0755); /* chown may clear bits */
    fb_status st;
    char *msg = load("testdrv.so", &st);
    ck_assert_msg(st != FB_OK, "a driver file owned by uid %d was loaded", OTHER_UID);
    expect_in(msg, "is owned by uid 65534");
    char *fix = fbi_xasprintf("chown root %s", file);
    expect_in(msg, fix);
    free(fix);
    free(msg);
    ck_assert_int_eq(chown(file, 0, (gid_t)-1), 0);
    msg = load("testdrv.so", &st);
    ck_assert_msg(st == FB_OK, "refused once owned by root again: %s", msg);
    free(msg);
    free(file);
}
END_TEST

START_TEST(other_owner_dir_refused)
{
    if (geteuid() != 0) {
        printf("skip: other_owner_dir_refused needs root to chown a directory to uid %d\n",
               OTHER_UID);
        return;
    }
    char *d = subdir("theirs", 0755);
    char *drv = fbi_xasprintf("%s/drv", d);
    ck_assert_int_eq(mkdir(drv, 0755), 0);
    install(drv, "testdrv", "testdrv.so", 0755);
    ck_assert_int_eq(chown(d, OTHER_UID, (gid_t)-1), 0);
    char *list;
    ck_assert_uint_eq(open_path(drv, &list), 0);
    char *want = fbi_xasprintf("directory %s is owned by uid 65534", d);
    expect_in(list, want);
    free(want);
    free(list);
    ck_assert_int_eq(chown(d, 0, (gid_t)-1), 0);
    ck_assert_uint_eq(open_path(drv, &list), 1);
    free(list);
    free(drv);
    free(d);
}
END_TEST

START_TEST(relative_path_entries_refused)
{
    install(tmpdir, "testdrv", "testdrv.so", 0755);
    char *sub = subdir("drv", 0755);
    install(sub, "testdrv", "testdrv.so", 0755);
    char old[4096];
    ck_assert_ptr_nonnull(getcwd(old, sizeof old));
    ck_assert_int_eq(chdir(tmpdir), 0);
    char *list;
    size_t n1 = open_path(".", &list);
    ck_assert_msg(n1 == 0, "'.' in the driver path loaded %zu driver(s) from the working directory",
                  n1);
    expect_in(list, "driver directory '.' is a relative path");
    /* the working directory as realpath sees it (tmpdir has no symlinks) */
    char *fix = fbi_xasprintf("e.g. %s\n", tmpdir);
    expect_in(list, fix);
    free(fix);
    free(list);
    size_t n2 = open_path("./drv", &list);
    ck_assert_msg(n2 == 0, "a relative entry './drv' loaded %zu driver(s)", n2);
    expect_in(list, "'./drv' is a relative path");
    fix = fbi_xasprintf("e.g. %s/drv\n", tmpdir);
    expect_in(list, fix);
    free(list);
    ck_assert_uint_eq(open_path("drv", &list), 0);
    expect_in(list, fix);
    free(fix);
    free(list);
    /* the absolute entries of a list still load */
    char *mixed = fbi_xasprintf(".:%s", sub);
    ck_assert_uint_eq(open_path(mixed, &list), 1);
    free(list);
    free(mixed);
    ck_assert_int_eq(chdir(old), 0);
    free(sub);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, good_driver_loads);
    tcase_add_test(tc, wrong_major_refused);
    tcase_add_test(tc, newer_minor_refused);
    tcase_add_test(tc, missing_entry_refused);
    tcase_add_test(tc, extra_export_refused);
    tcase_add_test(tc, bad_caps_refused);
    tcase_add_test(tc, world_writable_file_refused);
    tcase_add_test(tc, world_writable_dir_refused);
    tcase_add_test(tc, bad_names_refused);
    tcase_add_test(tc, not_elf_refused);
    tcase_add_test(tc, exported_symbol_count);
    tcase_add_test(tc, open_directory_mixture);
    tcase_add_test(tc, concurrent_opens);
    tcase_add_test(tc, duplicate_name_first_wins);
    tcase_add_test(tc, missing_directory_is_an_error);
    tcase_add_test(tc, caps_rules);
    tcase_add_test(tc, symlink_to_world_writable_dir_refused);
    tcase_add_test(tc, dir_in_world_writable_parent_refused);
    tcase_add_test(tc, group_writable_refused);
    tcase_add_test(tc, other_owner_file_refused);
    tcase_add_test(tc, other_owner_dir_refused);
    tcase_add_test(tc, relative_path_entries_refused);
    suite_add_tcase(s, tc);
    return fbt_run(s);
}
