/* fuzz_profile.c - libFuzzer harness for traffic profiles: every input is
 * parsed as a CSV profile; a profile that parses is summarised and replayed
 * through the five strategies of the step model (at most 2,000 steps, so
 * each input stays fast). Nothing may crash, leak or hit undefined
 * behaviour, and a parsed profile must hold what the checks promise.
 * Build and run with tests/fuzz/build.sh (not part of `make check`). */
#include "config.h"
#include "spec/profile.h"
#include "sim/sim.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fb_diag *d = fb_diag_new();
    fbi_profile p;
    if (fbi_profile_parse_csv("fuzz.csv", (const char *)data, size, "/p", &p, d) == 0) {
        if (p.n < 2 || p.step_s < FBI_PROFILE_MIN_STEP || p.step_s > FBI_PROFILE_MAX_STEP)
            abort();
        for (size_t i = 0; i < p.n; i++)
            if (!(p.rps[i] >= 0 && p.rps[i] <= FBI_PROFILE_MAX_RPS)) abort();
        json_decref(fbi_profile_to_json(&p, 1));
        if (p.n <= 2000) {
            fbi_sim_params sp;
            fbi_sim_params_default(&sp);
            sp.conc = 10;
            sp.max_replicas = 1000;
            sp.replica_month_nano = 36040100000LL;
            sp.fn_ref_nano = 5337000000LL;
            sp.fn_ref_requests = 100000000;
            sp.fn_warm_month_nano = 2190000000LL;
            sp.slo_p99_ms = 500;
            for (int s = 0; s < FBI_SIM_NSTRATEGIES; s++) {
                fbi_sim_result r;
                char *err = NULL;
                if (fbi_sim_run(&p, &sp, (fbi_sim_strategy)s, NULL, NULL, &r, &err) == 0) {
                    if (r.availability < 0 || r.availability > 1 + 1e-9 || r.cost_nano < 0 ||
                        r.mean_util < 0 || r.mean_util > 1 + 1e-9)
                        abort();
                } else {
                    free(err);
                }
            }
        }
        fbi_profile_free(&p);
    }
    fb_diag_free(d);
    return 0;
}
