/* catalog_csv.c - a strict RFC 4180 reader for the catalog files, so a stray
 * quote or a missing comma in a price row is an error with its line and
 * column, never a silently shifted column. */
#include "config.h"
#include "catalog/catalog_priv.h"

#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const char *data;
    size_t len, i;
    int line;          /* current line (1-based) */
    size_t line_start; /* offset of the current line's first byte */
    const char *file;
    fb_diag *diag;
    int errors;
} reader;

static int col_of(const reader *r, size_t at)
{
    return (int)(at - r->line_start) + 1;
}

static void err_at(reader *r, int line, int col, const char *summary, const char *detail)
{
    fbi_cat_diag_add(r->diag, FB_SEV_ERROR, r->file, line, col, NULL, summary, detail);
    r->errors++;
}

/* Moves past the next line end (ignoring quotes), so one bad record costs
 * one record and the rest of the file is still checked. */
static void skip_line(reader *r)
{
    while (r->i < r->len && r->data[r->i] != '\n') r->i++;
    if (r->i < r->len) {
        r->i++;
        r->line++;
        r->line_start = r->i;
    }
}

static void fields_free(char **f, size_t n)
{
    for (size_t k = 0; k < n; k++) free(f[k]);
    free(f);
}

/* Reads one record. Returns 1 with fields, 0 when the record was malformed
 * (reported, skipped), -1 at end of input. */
static int read_record(reader *r, char ***fields_out, size_t *nfields_out, int *rec_line)
{
    char **fields = NULL;
    size_t nf = 0, cap = 0;
    fbi_buf f;
    if (r->i >= r->len) return -1;
    *rec_line = r->line;
    for (;;) {
        fbi_buf_init(&f);
        fbi_buf_puts(&f, ""); /* data is never NULL */
        int fline = r->line, fcol = col_of(r, r->i);
        if (r->i < r->len && r->data[r->i] == '"') {
            r->i++;
            for (;;) {
                if (r->i >= r->len) {
                    err_at(r, fline, fcol, "unterminated quoted field",
                           "a field opened with '\"' here never closes; close it with '\"' "
                           "(write a quote inside a quoted field as \"\")");
                    fbi_buf_free(&f);
                    fields_free(fields, nf);
                    return 0;
                }
                char ch = r->data[r->i];
                if (ch == '"') {
                    if (r->i + 1 < r->len && r->data[r->i + 1] == '"') {
                        fbi_buf_putc(&f, '"');
                        r->i += 2;
                        continue;
                    }
                    r->i++;
                    break;
                }
                if (ch == '\0') {
                    err_at(r, r->line, col_of(r, r->i), "NUL byte in a field", NULL);
                    fbi_buf_free(&f);
                    fields_free(fields, nf);
                    skip_line(r);
                    return 0;
                }
                fbi_buf_putc(&f, ch);
                r->i++;
                if (ch == '\n') {
                    r->line++;
                    r->line_start = r->i;
                }
            }
            if (r->i < r->len && r->data[r->i] != ',' && r->data[r->i] != '\n' &&
                r->data[r->i] != '\r') {
                err_at(r, r->line, col_of(r, r->i), "text after a closing quote",
                       "a quoted field must end at the closing '\"'; quote the whole field "
                       "and double any quote inside it");
                fbi_buf_free(&f);
                fields_free(fields, nf);
                skip_line(r);
                return 0;
            }
        } else {
            while (r->i < r->len && r->data[r->i] != ',' && r->data[r->i] != '\n' &&
                   r->data[r->i] != '\r') {
                char ch = r->data[r->i];
                if (ch == '"' || ch == '\0') {
                    err_at(r, r->line, col_of(r, r->i),
                           ch == '"' ? "quote inside an unquoted field" : "NUL byte in a field",
                           ch == '"' ? "enclose the whole field in double quotes and write the "
                                       "quote as \"\"" : NULL);
                    fbi_buf_free(&f);
                    fields_free(fields, nf);
                    skip_line(r);
                    return 0;
                }
                fbi_buf_putc(&f, ch);
                r->i++;
            }
        }
        if (!fbi_utf8_valid(f.data, f.len)) {
            err_at(r, fline, fcol, "field is not valid UTF-8", "save the file as UTF-8");
            fbi_buf_free(&f);
            fields_free(fields, nf);
            skip_line(r);
            return 0;
        }
        if (nf == cap) {
            cap = cap ? cap * 2 : 16;
            fields = fbi_xrealloc(fields, cap * sizeof *fields);
        }
        fields[nf++] = fbi_buf_steal(&f);
        if (r->i < r->len && r->data[r->i] == ',') {
            r->i++;
            continue;
        }
        if (r->i < r->len && r->data[r->i] == '\r') {
            if (r->i + 1 < r->len && r->data[r->i + 1] == '\n') {
                r->i += 2;
            } else {
                err_at(r, r->line, col_of(r, r->i), "bare carriage return",
                       "end lines with LF or CRLF");
                fields_free(fields, nf);
                r->i++;
                skip_line(r);
                return 0;
            }
            r->line++;
            r->line_start = r->i;
        } else if (r->i < r->len && r->data[r->i] == '\n') {
            r->i++;
            r->line++;
            r->line_start = r->i;
        }
        break;
    }
    *fields_out = fields;
    *nfields_out = nf;
    return 1;
}

/* Where the file's trailing line ends start: a file may end with any
 * number of newlines. Computed once (asking at each empty line whether only
 * newlines follow made a file of blank lines quadratic: 200,000 took 31 s). */
static size_t trailing_newlines_start(const char *data, size_t len)
{
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) len--;
    return len;
}

fb_status fbi_csv_parse(const char *data, size_t len, const char *file,
                        fbi_csv **out, fb_diag *diag)
{
    reader r = {data, len, 0, 1, 0, file, diag, 0};
    fbi_csv *c = fbi_xcalloc(1, sizeof *c);
    size_t cap = 0;
    fbi_buf text;    /* the accepted rows' fields, each NUL-terminated */
    size_t *offs = NULL; /* where each cell starts in text, row-major */
    fbi_buf_init(&text);
    *out = c;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) r.i = r.line_start = 3;
    size_t tail = trailing_newlines_start(data, len);
    for (;;) {
        char **fields;
        size_t nf;
        int line;
        int rc = read_record(&r, &fields, &nf, &line);
        if (rc < 0) break;
        if (rc == 0) continue;
        if (nf == 1 && fields[0][0] == '\0') { /* an empty line */
            fields_free(fields, nf);
            if (r.i >= tail) break;
            err_at(&r, line, 1, "empty line", "remove blank lines inside the table");
            continue;
        }
        if (!c->header) {
            c->header = fields;
            c->ncols = nf;
            for (size_t a = 0; a < nf; a++) {
                if (!fields[a][0])
                    err_at(&r, line, 0, "empty column name in the header", NULL);
                for (size_t b = 0; b < a; b++)
                    if (strcmp(fields[a], fields[b]) == 0) {
                        char *s = fbi_xasprintf("duplicate column '%s' in the header", fields[a]);
                        err_at(&r, line, 0, s, NULL);
                        free(s);
                    }
            }
            continue;
        }
        if (nf != c->ncols) {
            char *s = fbi_xasprintf("row has %zu fields; the header has %zu", nf, c->ncols);
            err_at(&r, line, 0, s, "check for a missing or extra comma; quote fields that "
                                   "contain commas");
            free(s);
            fields_free(fields, nf);
            continue;
        }
        if (c->nrows == cap) {
            cap = cap ? cap * 2 : 64;
            offs = fbi_xrealloc(offs, cap * c->ncols * sizeof *offs);
            c->lines = fbi_xrealloc(c->lines, cap * sizeof *c->lines);
        }
        for (size_t k = 0; k < nf; k++) {
            offs[c->nrows * c->ncols + k] = text.len;
            fbi_buf_append(&text, fields[k], strlen(fields[k]) + 1);
        }
        fields_free(fields, nf);
        c->lines[c->nrows] = line;
        c->nrows++;
    }
    if (!c->header) err_at(&r, 1, 0, "no header row", "the first line names the columns");
    /* The cells point into text only now that text stops moving; both are
     * cut to their size (the catalog keeps them to the end). */
    if (c->nrows) {
        size_t used = text.len + 1;
        c->text = fbi_xrealloc(fbi_buf_steal(&text), used);
        c->cells = fbi_xmalloc(c->nrows * c->ncols * sizeof *c->cells);
        c->rows = fbi_xmalloc(c->nrows * sizeof *c->rows);
        for (size_t i = 0; i < c->nrows; i++) {
            c->rows[i] = c->cells + i * c->ncols;
            for (size_t k = 0; k < c->ncols; k++)
                c->rows[i][k] = c->text + offs[i * c->ncols + k];
        }
        c->lines = fbi_xrealloc(c->lines, c->nrows * sizeof *c->lines);
    }
    fbi_buf_free(&text);
    free(offs);
    return r.errors ? FB_INVALID : FB_OK;
}

void fbi_csv_free(fbi_csv *c)
{
    if (!c) return;
    if (c->header) fields_free(c->header, c->ncols);
    free(c->text);
    free(c->cells);
    free(c->rows);
    free(c->lines);
    free(c);
}

int fbi_csv_col(const fbi_csv *c, const char *name)
{
    for (size_t k = 0; c && k < c->ncols; k++)
        if (strcmp(c->header[k], name) == 0) return (int)k;
    return -1;
}

void fbi_csv_put_field(struct fbi_buf *b, const char *s)
{
    size_t n = strlen(s);
    int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    for (const char *p = s; *p && !quote; p++)
        if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r') quote = 1;
    if (!quote) {
        fbi_buf_append(b, s, n);
        return;
    }
    fbi_buf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"') fbi_buf_putc(b, '"');
        fbi_buf_putc(b, *p);
    }
    fbi_buf_putc(b, '"');
}
