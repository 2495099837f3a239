/* trust.c - the ownership and permission rules for what the broker runs
 * or trusts (trust.h): the driver loader and the configuration loader
 * call the same check, so a rule cannot be kept by one and forgotten by
 * the other. */
#include "config.h"
#include "base/trust.h"
#include "base/util.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "uid 65534 (nobody)" or "uid 4242" into buf. */
static void describe_uid(uid_t uid, char *buf, size_t n)
{
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res && res->pw_name)
        snprintf(buf, n, "uid %u (%s)", (unsigned)uid, res->pw_name);
    else
        snprintf(buf, n, "uid %u", (unsigned)uid);
}

/* The user name chown takes for uid: its name, else the number. */
static void chown_target(uid_t uid, char *buf, size_t n)
{
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res && res->pw_name)
        snprintf(buf, n, "%s", res->pw_name);
    else
        snprintf(buf, n, "%u", (unsigned)uid);
}

/* How cur relates to what was asked for, for the message: empty when it
 * is the path itself, else ", above PATH", plus the symlink it came
 * through. new. */
static char *where_text(const char *cur, const char *real, const char *path, int via_link)
{
    fbi_buf b;
    fbi_buf_init(&b);
    if (strcmp(cur, real) != 0) fbi_buf_printf(&b, ", above %s", real);
    if (via_link) fbi_buf_printf(&b, " (%s is a symlink to %s)", path, real);
    fbi_buf_puts(&b, "");
    return fbi_buf_steal(&b);
}

static void refuse(fb_diag *diag, const char *diag_file, const fbi_trust_role *role,
                   const char *summary, const char *detail)
{
    char *m = fbi_xasprintf("%s: %s", role->refused, summary);
    fb_diag_add(diag, FB_SEV_ERROR, diag_file, 0, 0, NULL, m, detail);
    free(m);
}

/* Applies the rules to one path (cur, resolved) of the chain. 0 or -1
 * after one diagnostic. */
static int check_one(const char *cur, const struct stat *st, const char *real, const char *path,
                     int via_link, const fbi_trust_role *role, const char *diag_file, fb_diag *diag)
{
    const char *kind = S_ISDIR(st->st_mode) ? "directory" : "file";
    unsigned mode = (unsigned)(st->st_mode & 07777);
    uid_t me = geteuid();
    char *where = where_text(cur, real, path, via_link);
    int rc = 0;
    if (st->st_uid != 0 && st->st_uid != me) {
        char owner[160], allowed[200], target[128];
        describe_uid(st->st_uid, owner, sizeof owner);
        if (me == 0) {
            snprintf(allowed, sizeof allowed, "root");
        } else {
            char mine[160];
            describe_uid(me, mine, sizeof mine);
            snprintf(allowed, sizeof allowed, "root or you (%s)", mine);
        }
        chown_target(me, target, sizeof target);
        char *m = fbi_xasprintf("%s %s is owned by %s, not by %s%s", kind, cur, owner, allowed, where);
        char *d = fbi_xasprintf("that user %s; fix it with: chown %s %s", role->risk, target, cur);
        refuse(diag, diag_file, role, m, d);
        free(m);
        free(d);
        rc = -1;
    } else if ((st->st_mode & (S_IWGRP | S_IWOTH)) &&
               !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))) {
        /* A sticky directory (/tmp) lets others add files but not replace
         * ours; what they add fails the owner rule. */
        int other = (st->st_mode & S_IWOTH) != 0, group = (st->st_mode & S_IWGRP) != 0;
        char *m = fbi_xasprintf("%s %s is %s-writable (mode %04o)%s", kind, cur,
                                other ? "world" : "group", mode, where);
        char *d = fbi_xasprintf("%s %s; fix it with: chmod %s %s",
                                other ? "anyone on this machine" : "every member of its group",
                                role->risk, other && group ? "go-w" : other ? "o-w" : "g-w", cur);
        refuse(diag, diag_file, role, m, d);
        free(m);
        free(d);
        rc = -1;
    }
    free(where);
    return rc;
}

int fbi_trust_check(const char *path, const fbi_trust_role *role, const char *diag_file,
                    fb_diag *diag, char **real_out)
{
    if (real_out) *real_out = NULL;
    char *real = realpath(path, NULL);
    if (!real) {
        char *m = fbi_xasprintf("cannot resolve %s: %s", path, strerror(errno));
        refuse(diag, diag_file, role, m, NULL);
        free(m);
        return -1;
    }
    struct stat lst;
    int via_link = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
    /* From the file up to /: the first path that breaks a rule is named. */
    char *cur = fbi_xstrdup(real);
    int rc = 0;
    for (;;) {
        struct stat st;
        if (stat(cur, &st) != 0) {
            char *m = fbi_xasprintf("cannot stat %s: %s", cur, strerror(errno));
            refuse(diag, diag_file, role, m, NULL);
            free(m);
            rc = -1;
            break;
        }
        if (check_one(cur, &st, real, path, via_link, role, diag_file, diag) != 0) {
            rc = -1;
            break;
        }
        if (strcmp(cur, "/") == 0) break;
        char *slash = strrchr(cur, '/');
        if (slash == cur) slash[1] = '\0'; /* "/etc" -> "/" */
        else *slash = '\0';
    }
    free(cur);
    if (rc == 0 && real_out) *real_out = real;
    else free(real);
    return rc;
}
