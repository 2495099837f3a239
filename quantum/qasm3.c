/* qasm3.c - OpenQASM 2 -> 3 conversion (placeholder until the converter
 * lands). */
#include "config.h"
#include "fbq_int.h"

fbq_status fbq_to_qasm3(const fbq_program *p, char **out, fbq_error *err)
{
    (void)p;
    *out = NULL;
    fbq_seterr(err, FBQ_EUNSUPPORTED, NULL, 0, 0, "not implemented yet");
    return FBQ_EUNSUPPORTED;
}
