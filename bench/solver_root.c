/* solver_root.c - the root LP of branch and bound's model, without and with
 * its conflict rows (core/solver/solver_bound.c, model_build), for each
 * placement instance named on the command line:
 *
 *   bench/solver_root FILE.json...   ->   "FILE without with" per line (USD)
 *
 * Floating point (GLPK's simplex), not certified: a measurement of how
 * tight the formulation is, against the proven optimum (bench/solver_mip_ab.py). */
#include "config.h"
#include "fedbroker/fedbroker.h"
#include "solver/solver.h"
#include "solver/solver_impl.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int rc = 0;
    for (int a = 1; a < argc; a++) {
        size_t len = 0;
        char *err = NULL;
        char *text = fbi_read_file(argv[a], (size_t)1 << 30, &len, &err);
        if (!text) {
            fprintf(stderr, "%s: %s\n", argv[a], err ? err : "cannot read");
            free(err);
            rc = 1;
            continue;
        }
        fb_diag *d = fb_diag_new();
        fbi_problem *p = NULL;
        if (fbi_problem_load_json(text, len, argv[a], &p, d) != FB_OK) {
            fb_diag_print(d, stderr);
            rc = 1;
        } else {
            const fbi_cmp *c = fbi_problem_compile(p);
            if (c->reason) printf("%s infeasible infeasible\n", argv[a]);
            else printf("%s %.9f %.9f\n", argv[a], fbi_mip_root(c, 0), fbi_mip_root(c, 1));
            fflush(stdout);
            fbi_problem_free(p);
        }
        fb_diag_free(d);
        free(text);
    }
    return rc;
}
