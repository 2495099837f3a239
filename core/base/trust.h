/* trust.h - may a file be trusted with what the broker runs (driver code)
 * or reads as its own word (the configuration, the state directory)?
 *
 * The rules, the same for every caller (docs/security.md):
 *  - the path is resolved to its real path first (symlinks followed), so a
 *    link in a trusted directory to a file elsewhere is judged by where it
 *    points;
 *  - the file and every directory above its real path, up to /, must be
 *    owned by root or by the user running the broker;
 *  - none of them may be writable by group or others, except a directory
 *    with the sticky bit (such as /tmp), where others cannot replace what
 *    they do not own.
 * One refusal message per rule, naming the path and the exact fix.
 * Internal to core (prefix fbi_). */
#ifndef FB_TRUST_H
#define FB_TRUST_H

#include "fedbroker/fedbroker.h"

/* Who asks, for the messages: what is refused and what another user could
 * do with the path. Both static strings. */
typedef struct fbi_trust_role {
    const char *refused; /* "driver refused" */
    const char *risk;    /* "could replace the code the broker runs" */
} fbi_trust_role;

/* Checks path (a file or a directory) and every directory above its real
 * path. Returns 0 when trusted, with *real (new, free(); may be NULL to
 * skip) set to the resolved path; else -1 after adding one error
 * diagnostic (file: diag_file, borrowed) naming the broken rule and the
 * command that fixes it. Thread-safe (getpwuid_r). */
int fbi_trust_check(const char *path, const fbi_trust_role *role, const char *diag_file,
                    fb_diag *diag, char **real);

#endif
