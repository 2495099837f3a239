/* diag.h - the fb_diag structure, shared by core modules that bind per-call
 * context (the host) to it. */
#ifndef FB_DIAG_H
#define FB_DIAG_H

#include <jansson.h>
#include "fedbroker/fedbroker.h"

typedef struct fbi_diag_item {
    fb_severity sev;
    char *file;
    int line, column;
    char *pointer;
    char *summary;
    char *detail;
} fbi_diag_item;

struct fbi_call; /* the per-call context, see base/call.h */

struct fb_diag {
    fbi_diag_item *items;
    size_t n, cap;
    struct fbi_call *call;   /* set while the diag is a driver call context */
};

/* The diagnostics as a JSON array of {severity, file?, line?, column?,
 * pointer?, summary, detail?} (new): the value fb_diag_to_json prints, for
 * core code that puts them into a document (no text round trip). */
json_t *fbi_diag_json(const fb_diag *d);

#endif
