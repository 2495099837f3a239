/* opts.c - option parsing shared by every verb, so that --help, --format and
 * errors behave the same everywhere. */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static void print_help(const char *usage, const char *description,
                       const fbc_opt *opts)
{
    printf("usage: %s\n", usage);
    if (description) printf("\n%s\n", description);
    printf("\noptions:\n");
    for (const fbc_opt *o = opts; o && o->name; o++) {
        char left[64];
        if (o->metavar)
            snprintf(left, sizeof left, "--%s %s", o->name, o->metavar);
        else
            snprintf(left, sizeof left, "--%s", o->name);
        printf("  %-28s %s\n", left, o->help);
    }
    printf("  %-28s %s\n", "--help", "show this help and exit");
}

static void list_push(const char ***list, const char *v)
{
    size_t n = 0;
    while (*list && (*list)[n]) n++;
    *list = fbi_xrealloc((void *)*list, (n + 2) * sizeof **list);
    (*list)[n] = v;
    (*list)[n + 1] = NULL;
}

int fbc_parse(int argc, char **argv, const fbc_opt *opts, const char *usage,
              const char *description, char ***pos, int *npos, int *exit_code)
{
    *exit_code = FB_EXIT_OK;
    *pos = fbi_xcalloc((size_t)argc + 1, sizeof(char *));
    *npos = 0;
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            (*pos)[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) { only_pos = 1; continue; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(usage, description, opts);
            free(*pos);
            *pos = NULL;
            return 0;
        }
        if (a[1] != '-') {
            fprintf(stderr, "fedbroker %s: unknown option '%s'\nusage: %s\n"
                    "Try 'fedbroker %s --help'.\n", argv[0], a, usage, argv[0]);
            free(*pos);
            *pos = NULL;
            *exit_code = FB_EXIT_USAGE;
            return 0;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const fbc_opt *o = opts;
        for (; o && o->name; o++)
            if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0) break;
        if (!o || !o->name) {
            fprintf(stderr, "fedbroker %s: unknown option '--%.*s'\nTry 'fedbroker %s --help'.\n",
                    argv[0], (int)nlen, name, argv[0]);
            free(*pos);
            *pos = NULL;
            *exit_code = FB_EXIT_USAGE;
            return 0;
        }
        if (!o->metavar) {
            if (eq) {
                fprintf(stderr, "fedbroker %s: option '--%s' takes no value\n", argv[0], o->name);
                free(*pos);
                *pos = NULL;
                *exit_code = FB_EXIT_USAGE;
                return 0;
            }
            *o->flag = 1;
            continue;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "fedbroker %s: option '--%s' needs a value (%s)\n",
                        argv[0], o->name, o->metavar);
                free(*pos);
                *pos = NULL;
                *exit_code = FB_EXIT_USAGE;
                return 0;
            }
            val = argv[++i];
        }
        if (o->list) list_push(o->list, val);
        else *o->str = val;
    }
    return 1;
}

int fbc_format_parse(const char *s, unsigned allowed, fbc_format *out)
{
    if (!s) { *out = FBC_FMT_TABLE; return 0; }
    for (unsigned i = 0; fbi_report_format_name(i); i++) {
        if (strcmp(s, fbi_report_format_name(i)) == 0 && (allowed & (1u << i))) {
            *out = (fbc_format)i;
            return 0;
        }
    }
    fprintf(stderr, "fedbroker: unknown --format '%s'; this verb accepts:", s);
    for (unsigned i = 0; fbi_report_format_name(i); i++)
        if (allowed & (1u << i)) fprintf(stderr, " %s", fbi_report_format_name(i));
    fputc('\n', stderr);
    return -1;
}

int fbc_report_diag(const fb_diag *d, int code_if_errors)
{
    fb_diag_print(d, stderr);
    return fb_diag_errors(d) ? code_if_errors : FB_EXIT_OK;
}
