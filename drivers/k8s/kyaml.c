/* kyaml.c - a kubeconfig (YAML) as JSON, with libyaml. Only what a
 * kubeconfig or an ExecCredential uses: maps with string keys, sequences,
 * scalars. Anchors and aliases are refused (a kubeconfig has none, and an
 * alias bomb must not blow up the broker); so are non-string keys. */
#include "config.h"
#include "k8s.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64

typedef struct kframe {
    json_t *node;
    char *key; /* pending map key, NULL when a key is expected */
} kframe;

/* A plain scalar's value: kubeconfigs use true/false (insecure-skip-tls-
 * verify) and null; numbers stay strings (nothing we read is a number). */
static json_t *scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if ((n == 4 && (!memcmp(v, "true", 4) || !memcmp(v, "True", 4) || !memcmp(v, "TRUE", 4))))
            return json_true();
        if ((n == 5 && (!memcmp(v, "false", 5) || !memcmp(v, "False", 5) || !memcmp(v, "FALSE", 5))))
            return json_false();
        if (n == 0 || (n == 1 && v[0] == '~') || (n == 4 && !memcmp(v, "null", 4))) return json_null();
    }
    return json_stringn(v, n);
}

json_t *k8s_yaml_parse(const char *text, size_t len, char **why)
{
    yaml_parser_t p;
    yaml_event_t ev;
    kframe st[MAX_DEPTH];
    int depth = 0;
    json_t *root = NULL;
    *why = NULL;
    if (!yaml_parser_initialize(&p)) {
        *why = fbk_xstrdup("out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int done = 0;
    while (!done && !*why) {
        if (!yaml_parser_parse(&p, &ev)) {
            *why = fbk_xasprintf("line %zu column %zu: %s", p.problem_mark.line + 1, p.problem_mark.column + 1,
                                 p.problem ? p.problem : "not YAML");
            break;
        }
        json_t *val = NULL;
        size_t line = ev.start_mark.line + 1, col = ev.start_mark.column + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            done = ev.type == YAML_STREAM_END_EVENT || root != NULL;
            break;
        case YAML_ALIAS_EVENT:
            *why = fbk_xasprintf("line %zu column %zu: aliases are not supported in a kubeconfig", line, col);
            break;
        case YAML_SCALAR_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
            const unsigned char *anchor = ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.anchor
                                        : ev.type == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.anchor
                                                                              : ev.data.sequence_start.anchor;
            if (anchor) {
                *why = fbk_xasprintf("line %zu column %zu: anchors are not supported in a kubeconfig", line, col);
                break;
            }
            if (ev.type == YAML_SCALAR_EVENT) {
                if (depth > 0 && json_is_object(st[depth - 1].node) && !st[depth - 1].key) {
                    st[depth - 1].key = fbk_xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
                    break;
                }
                val = scalar(&ev);
            } else {
                if (depth > 0 && json_is_object(st[depth - 1].node) && !st[depth - 1].key) {
                    *why = fbk_xasprintf("line %zu column %zu: a map key must be a string", line, col);
                    break;
                }
                if (depth == MAX_DEPTH) {
                    *why = fbk_xasprintf("line %zu column %zu: nested too deeply", line, col);
                    break;
                }
                st[depth].node = ev.type == YAML_MAPPING_START_EVENT ? json_object() : json_array();
                st[depth].key = NULL;
                depth++;
                break;
            }
            break;
        }
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            val = st[--depth].node;
            free(st[depth].key);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (!val) continue;
        if (depth == 0) {
            if (root) json_decref(root);
            root = val;
        } else if (json_is_object(st[depth - 1].node)) {
            json_object_set_new(st[depth - 1].node, st[depth - 1].key, val);
            free(st[depth - 1].key);
            st[depth - 1].key = NULL;
        } else {
            json_array_append_new(st[depth - 1].node, val);
        }
    }
    while (depth > 0) {
        depth--;
        json_decref(st[depth].node);
        free(st[depth].key);
    }
    yaml_parser_delete(&p);
    if (*why) {
        json_decref(root);
        return NULL;
    }
    if (!root) root = json_object(); /* an empty file: kubectl treats it as an empty config */
    return root;
}
