/* ini_tool.c - parses INI documents given as JSON lines {"text": "..."} with
 * the kit's fbk_ini_parse and prints one JSON line each:
 * {"sections": [[name, [[key, value], ...]], ...]} or {"error", "line"},
 * for tests/kit/ini_configparser.py to compare with Python's configparser. */
#include "config.h"
#include "fbk.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        json_t *in = json_loads(line, 0, NULL);
        if (!in) {
            fprintf(stderr, "ini_tool: bad input line\n");
            free(line);
            return 2;
        }
        const char *text = json_string_value(json_object_get(in, "text"));
        size_t len = json_string_length(json_object_get(in, "text"));
        fbk_ini ini;
        char *err = NULL;
        json_t *out;
        if (fbk_ini_parse(text ? text : "", len, "<t>", &ini, &err) != 0) {
            int ln = 0;
            if (sscanf(err, "<t>:%d:", &ln) != 1) ln = -1;
            out = json_pack("{s:s,s:i}", "error", err, "line", ln);
            free(err);
        } else {
            json_t *secs = json_array();
            for (size_t s = 0; s < ini.n_sections; s++) {
                json_t *kv = json_array();
                for (size_t i = 0; i < ini.n; i++)
                    if (!strcmp(ini.entries[i].section, ini.sections[s]))
                        json_array_append_new(kv, json_pack("[s,s]", ini.entries[i].key,
                                                            ini.entries[i].value));
                json_array_append_new(secs, json_pack("[s,o]", ini.sections[s], kv));
            }
            out = json_pack("{s:o}", "sections", secs);
            fbk_ini_free(&ini);
        }
        char *s = json_dumps(out, JSON_COMPACT);
        puts(s);
        free(s);
        json_decref(out);
        json_decref(in);
    }
    free(line);
    return 0;
}
