/* xml.c - a small, strict XML reader for AWS Query-protocol responses
 * (STS and friends). It builds a tree of elements with their character
 * data; it is not a general XML processor: DOCTYPE (and so entity
 * declarations) is refused outright. */
#include "config.h"
#include "fbk.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct xp {
    const char *s, *p, *end;
    char *err;
} xp;

/* Records the first error with its line and column. */
static void xerr(xp *x, const char *what)
{
    if (x->err) return;
    int line = 1, col = 1;
    for (const char *q = x->s; q < x->p && q < x->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    x->err = fbk_xasprintf("line %d col %d: %s", line, col, what);
}

/* Does the input continue with lit? */
static int starts(xp *x, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(x->end - x->p) >= n && memcmp(x->p, lit, n) == 0;
}

/* XML white space: space, tab, CR, LF. */
static void skip_ws(xp *x)
{
    while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\r' || *x->p == '\n'))
        x->p++;
}

/* XML name characters (ASCII letters, _, :, and any non-ASCII byte). */
static int name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

/* Characters allowed after the first in a name. */
static int name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Reads a name; returns its length (0 when there is none). */
static size_t read_name(xp *x, const char **start)
{
    *start = x->p;
    if (x->p >= x->end || !name_start((unsigned char)*x->p)) return 0;
    while (x->p < x->end && name_char((unsigned char)*x->p)) x->p++;
    return (size_t)(x->p - *start);
}

/* Encodes a character reference as UTF-8. */
static void put_utf8(fbk_buf *b, unsigned long cp)
{
    char u[4];
    if (cp < 0x80) {
        fbk_buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        fbk_buf_append(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        fbk_buf_append(b, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        fbk_buf_append(b, u, 4);
    }
}

/* At '&': decodes one reference into b. */
static int read_ref(xp *x, fbk_buf *b)
{
    const char *semi = memchr(x->p, ';', (size_t)(x->end - x->p));
    if (!semi || semi - x->p > 12) {
        xerr(x, "'&' that does not start an entity reference (write &amp;)");
        return -1;
    }
    size_t n = (size_t)(semi - x->p - 1);
    const char *r = x->p + 1;
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    for (size_t i = 0; i < sizeof ents / sizeof *ents; i++)
        if (strlen(ents[i].name) == n && !memcmp(r, ents[i].name, n)) {
            fbk_buf_putc(b, ents[i].c);
            x->p = semi + 1;
            return 0;
        }
    if (n >= 2 && r[0] == '#') {
        unsigned long cp = 0;
        int hex = r[1] == 'x';
        size_t i = hex ? 2 : 1;
        if (i == n) goto bad;
        for (; i < n; i++) {
            char c = r[i];
            int v;
            if (c >= '0' && c <= '9') v = c - '0';
            else if (hex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
            else if (hex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
            else goto bad;
            cp = cp * (hex ? 16 : 10) + (unsigned long)v;
            if (cp > 0x10FFFF) goto bad;
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) goto bad;
        put_utf8(b, cp);
        x->p = semi + 1;
        return 0;
    }
bad:
    xerr(x, "unknown or invalid entity reference");
    return -1;
}

/* Element text may hold secrets (STS keys): wiped. */
static void node_free(fbk_xml *n)
{
    while (n) {
        fbk_xml *next = n->next;
        node_free(n->child);
        free(n->name);
        fbk_free_secret(n->text);
        free(n);
        n = next;
    }
}

/* See fbk.h. */
void fbk_xml_free(fbk_xml *x)
{
    node_free(x);
}

/* Skips a comment at "<!--". */
static int skip_comment(xp *x)
{
    x->p += 4;
    for (; x->p + 2 < x->end; x->p++)
        if (x->p[0] == '-' && x->p[1] == '-') {
            if (x->p[2] != '>') {
                xerr(x, "\"--\" inside a comment");
                return -1;
            }
            x->p += 3;
            return 0;
        }
    x->p = x->end;
    xerr(x, "unterminated comment");
    return -1;
}

static fbk_xml *parse_element(xp *x, int depth);

/* Parses the content of an element up to and including its end tag. */
static int parse_content(xp *x, fbk_xml *el, const char *name, size_t nlen, int depth)
{
    fbk_buf text;
    fbk_buf_init(&text);
    fbk_xml **tail = &el->child;
    for (;;) {
        if (x->p >= x->end) {
            xerr(x, "unexpected end of document inside an element");
            goto fail;
        }
        char c = *x->p;
        if (c == '<') {
            if (starts(x, "</")) {
                const char *tag = x->p;
                x->p += 2;
                const char *ns;
                size_t n = read_name(x, &ns);
                if (n != nlen || memcmp(ns, name, n) != 0) {
                    x->p = tag;
                    xerr(x, "end tag does not match the open element");
                    goto fail;
                }
                skip_ws(x);
                if (x->p >= x->end || *x->p != '>') {
                    xerr(x, "expected '>' to close the end tag");
                    goto fail;
                }
                x->p++;
                el->text = fbk_buf_steal(&text);
                return 0;
            } else if (starts(x, "<!--")) {
                if (skip_comment(x) != 0) goto fail;
            } else if (starts(x, "<![CDATA[")) {
                x->p += 9;
                const char *q = x->p;
                while (q + 2 < x->end && !(q[0] == ']' && q[1] == ']' && q[2] == '>')) q++;
                if (q + 2 >= x->end) {
                    xerr(x, "unterminated CDATA section");
                    goto fail;
                }
                fbk_buf_append(&text, x->p, (size_t)(q - x->p));
                x->p = q + 3;
            } else if (starts(x, "<!") || starts(x, "<?")) {
                xerr(x, "declarations and processing instructions are not allowed inside elements");
                goto fail;
            } else {
                fbk_xml *ch = parse_element(x, depth + 1);
                if (!ch) goto fail;
                *tail = ch;
                tail = &ch->next;
            }
        } else if (c == '&') {
            if (read_ref(x, &text) != 0) goto fail;
        } else if (c == '>' && x->p - x->s >= 2 && x->p[-1] == ']' && x->p[-2] == ']') {
            xerr(x, "\"]]>\" in character data");
            goto fail;
        } else {
            if ((unsigned char)c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                xerr(x, "control character in character data");
                goto fail;
            }
            fbk_buf_putc(&text, c);
            x->p++;
        }
    }
fail:
    fbk_buf_wipe(&text);
    return -1;
}

/* At '<' of a start tag. */
static fbk_xml *parse_element(xp *x, int depth)
{
    if (depth > MAX_DEPTH) {
        xerr(x, "elements nested too deeply");
        return NULL;
    }
    x->p++;
    const char *ns;
    size_t nlen = read_name(x, &ns);
    if (!nlen) {
        xerr(x, "expected an element name after '<'");
        return NULL;
    }
    /* attributes: name = "value" | 'value' */
    for (;;) {
        const char *before = x->p;
        skip_ws(x);
        if (x->p >= x->end) {
            xerr(x, "unterminated start tag");
            return NULL;
        }
        if (*x->p == '>' || starts(x, "/>")) break;
        if (x->p == before) {
            xerr(x, "expected whitespace before an attribute");
            return NULL;
        }
        const char *an;
        if (!read_name(x, &an)) {
            xerr(x, "expected an attribute name");
            return NULL;
        }
        skip_ws(x);
        if (x->p >= x->end || *x->p != '=') {
            xerr(x, "expected '=' after the attribute name");
            return NULL;
        }
        x->p++;
        skip_ws(x);
        if (x->p >= x->end || (*x->p != '"' && *x->p != '\'')) {
            xerr(x, "attribute value must be quoted");
            return NULL;
        }
        char q = *x->p++;
        while (x->p < x->end && *x->p != q) {
            if (*x->p == '<') {
                xerr(x, "'<' in an attribute value");
                return NULL;
            }
            x->p++;
        }
        if (x->p >= x->end) {
            xerr(x, "unterminated attribute value");
            return NULL;
        }
        x->p++;
    }
    fbk_xml *el = fbk_xcalloc(1, sizeof *el);
    const char *colon = memchr(ns, ':', nlen);
    el->name = colon ? fbk_xstrndup(colon + 1, nlen - (size_t)(colon + 1 - ns)) : fbk_xstrndup(ns, nlen);
    if (starts(x, "/>")) {
        x->p += 2;
        el->text = fbk_xstrdup("");
        return el;
    }
    x->p++; /* '>' */
    if (parse_content(x, el, ns, nlen, depth) != 0) {
        node_free(el);
        return NULL;
    }
    return el;
}

/* Skips whitespace, comments and (in the prolog) the XML declaration. */
static int skip_misc(xp *x, int prolog)
{
    for (;;) {
        skip_ws(x);
        if (starts(x, "<!--")) {
            if (skip_comment(x) != 0) return -1;
        } else if (prolog && starts(x, "<?xml")) {
            const char *q = x->p;
            while (q + 1 < x->end && !(q[0] == '?' && q[1] == '>')) q++;
            if (q + 1 >= x->end) {
                xerr(x, "unterminated XML declaration");
                return -1;
            }
            x->p = q + 2;
            prolog = 0;
        } else if (starts(x, "<!DOCTYPE") || starts(x, "<!")) {
            xerr(x, "DOCTYPE and other declarations are refused");
            return -1;
        } else if (starts(x, "<?")) {
            xerr(x, "processing instructions are refused");
            return -1;
        } else {
            return 0;
        }
    }
}

/* Prolog, one root element, trailing comments only. */
int fbk_xml_parse(const char *s, size_t n, fbk_xml **out, char **err)
{
    *out = NULL;
    xp x = {.s = s, .p = s, .end = s + n, .err = NULL};
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) x.p += 3;
    if (memchr(s, '\0', n)) {
        if (err) *err = fbk_xstrdup("line 1 col 1: NUL byte in the document");
        return -1;
    }
    fbk_xml *root = NULL;
    if (skip_misc(&x, 1) != 0) goto fail;
    if (x.p >= x.end || *x.p != '<') {
        xerr(&x, "expected the root element");
        goto fail;
    }
    root = parse_element(&x, 0);
    if (!root) goto fail;
    if (skip_misc(&x, 0) != 0) goto fail;
    if (x.p != x.end) {
        xerr(&x, "content after the root element");
        goto fail;
    }
    *out = root;
    return 0;
fail:
    node_free(root);
    if (err) *err = x.err ? x.err : fbk_xstrdup("malformed XML");
    else free(x.err);
    return -1;
}

/* Walks a path of local names from the root. */
const fbk_xml *fbk_xml_find(const fbk_xml *root, const char *path)
{
    const fbk_xml *cur = NULL;
    const fbk_xml *level = root; /* siblings to search at this step */
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, "/");
        cur = NULL;
        for (const fbk_xml *e = level; e; e = e->next)
            if (strlen(e->name) == n && !memcmp(e->name, p, n)) {
                cur = e;
                break;
            }
        if (!cur) return NULL;
        p += n;
        if (*p == '/') p++;
        level = cur->child;
    }
    return cur;
}

/* See fbk.h. */
const char *fbk_xml_text(const fbk_xml *root, const char *path)
{
    const fbk_xml *e = fbk_xml_find(root, path);
    return e ? e->text : NULL;
}
