/* diag.h - the fb_diag structure, shared by core modules that bind per-call
 * context (the host) to it. */
#ifndef FB_DIAG_H
#define FB_DIAG_H

#include "fedbroker/fedbroker.h"

typedef struct fbi_diag_item {
    fb_severity sev;
    char *file;
    int line, column;
    char *pointer;
    char *summary;
    char *detail;
} fbi_diag_item;

struct fbi_call; /* host per-call state, see host.c */

struct fb_diag {
    fbi_diag_item *items;
    size_t n, cap;
    struct fbi_call *call;   /* set while the diag is a driver call context */
};

#endif
