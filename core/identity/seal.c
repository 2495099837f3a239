/* seal.c - the master key and what it seals. The master key is the one
 * secret the broker keeps outside the store: whoever reads it can unseal
 * every signing key and every tenant's secrets, so its file must be
 * readable by the broker's user only, and in memory it lives in locked
 * pages (sodium_malloc: no swap, guard pages, wiped on free). Keys for
 * each purpose are derived from it (crypto_kdf) so one never doubles as
 * another; sealing is XChaCha20-Poly1305 (IETF) whose 24-byte random
 * nonces cannot collide in practice, with additional data that binds a
 * sealed value to where it belongs (a key id; a tenant, name, version). */
#include "config.h"
#include "identity/identity.h"
#include "base/trust.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fbi_master_key {
    unsigned char *key; /* FBI_MASTER_KEY_BYTES of locked memory, read-only */
};

static const fbi_trust_role master_role = {
    "master key refused",
    "could replace the key that seals the signing keys and secrets"};

static void init_sodium(void)
{
    /* idempotent and thread-safe after the first call; fails only when
     * no entropy source exists, which sodium_malloc would also hit */
    if (sodium_init() < 0) {
        fputs("fedbroker: libsodium cannot initialise (no entropy source)\n", stderr);
        abort();
    }
}

void *fbi_locked_alloc(size_t n)
{
    init_sodium(); /* sodium_malloc needs the page size sodium_init reads */
    void *p = sodium_malloc(n ? n : 1);
    if (!p) {
        fputs("fedbroker: out of locked memory\n", stderr);
        abort();
    }
    return p;
}

void fbi_locked_free(void *p)
{
    sodium_free(p); /* wipes before unmapping; NULL is a no-op */
}

/* Writes 32 fresh random bytes to path, mode 0600, never over a file. */
static fb_status create_master(const char *path, fb_diag *diag)
{
    char *dir = fbi_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        char *err = NULL;
        if (fbi_mkdirs(dir, 0700, &err) != 0) {
            fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, err, NULL);
            free(err);
            free(dir);
            return FB_INTERNAL;
        }
    }
    free(dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        char *m = fbi_xasprintf("cannot create the master key file: %s", strerror(errno));
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, m, NULL);
        free(m);
        return FB_INTERNAL;
    }
    unsigned char *k = fbi_locked_alloc(FBI_MASTER_KEY_BYTES);
    randombytes_buf(k, FBI_MASTER_KEY_BYTES);
    ssize_t w = write(fd, k, FBI_MASTER_KEY_BYTES);
    fbi_locked_free(k);
    int bad = w != FBI_MASTER_KEY_BYTES || fsync(fd) != 0;
    if (close(fd) != 0) bad = 1;
    if (bad) {
        unlink(path); /* nothing half-written */
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, "cannot write the master key file",
                    "check the free space of the state directory");
        return FB_INTERNAL;
    }
    return FB_OK;
}

fb_status fbi_master_key_load(const fbi_identity_cfg *cfg, int create, fbi_master_key **out,
                              fb_diag *diag)
{
    *out = NULL;
    init_sodium();
    const char *path = cfg->master_key_file;
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT && create && cfg->master_key_default) {
            fb_status s = create_master(path, diag);
            if (s != FB_OK) return s;
        } else {
            char *m = fbi_xasprintf("cannot read the master key file: %s", strerror(errno));
            fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, "/identity/masterKeyFile", m,
                        errno == ENOENT ? "make it with: head -c 32 /dev/urandom > FILE && "
                                          "chmod 600 FILE (or leave identity.masterKeyFile unset "
                                          "to have one made in the state directory)"
                                        : NULL);
            free(m);
            return FB_INVALID;
        }
    }
    char *real = NULL;
    if (fbi_trust_check(path, &master_role, path, diag, &real) != 0) return FB_INVALID;
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) != 0) {
        char *m = fbi_xasprintf("cannot open the master key file: %s", strerror(errno));
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, m, NULL);
        free(m);
        if (fd >= 0) close(fd);
        free(real);
        return FB_INVALID;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        char *m = S_ISREG(st.st_mode)
            ? fbi_xasprintf("the master key file has mode %04o: group or other users could read "
                            "it and with it unseal every signing key and secret of the broker",
                            (unsigned)(st.st_mode & 07777))
            : fbi_xstrdup("the master key file is not a regular file");
        char *fix = fbi_xasprintf("chmod 600 %s (and consider the key exposed: make a new one "
                                  "and re-seal, see docs/identity.md)", real);
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, m, fix);
        free(m);
        free(fix);
        close(fd);
        free(real);
        return FB_INVALID;
    }
    free(real);
    if (st.st_size != FBI_MASTER_KEY_BYTES) {
        char *m = fbi_xasprintf("the master key file holds %lld bytes; a master key is exactly "
                                "%d random bytes", (long long)st.st_size, FBI_MASTER_KEY_BYTES);
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, m,
                    "make one with: head -c 32 /dev/urandom > FILE && chmod 600 FILE");
        free(m);
        close(fd);
        return FB_INVALID;
    }
    fbi_master_key *mk = fbi_xcalloc(1, sizeof *mk);
    mk->key = fbi_locked_alloc(FBI_MASTER_KEY_BYTES);
    size_t got = 0;
    while (got < FBI_MASTER_KEY_BYTES) {
        ssize_t r = read(fd, mk->key + got, FBI_MASTER_KEY_BYTES - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != FBI_MASTER_KEY_BYTES) {
        fbi_master_key_free(mk);
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, "cannot read the master key file", NULL);
        return FB_INVALID;
    }
    sodium_mprotect_readonly(mk->key);
    *out = mk;
    return FB_OK;
}

void fbi_master_key_free(fbi_master_key *mk)
{
    if (!mk) return;
    fbi_locked_free(mk->key);
    free(mk);
}

void fbi_master_derive(const fbi_master_key *mk, const char purpose[8], uint64_t id,
                       unsigned char out[32])
{
    char ctx[crypto_kdf_CONTEXTBYTES];
    memcpy(ctx, purpose, sizeof ctx);
    crypto_kdf_derive_from_key(out, 32, id, ctx, mk->key);
}

uint64_t fbi_tenant_subkey_id(const char *tenant)
{
    unsigned char h[8];
    crypto_generichash(h, sizeof h, (const unsigned char *)tenant, strlen(tenant), NULL, 0);
    uint64_t id = 0;
    for (int i = 7; i >= 0; i--) id = (id << 8) | h[i];
    return id;
}

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES

char *fbi_seal(const unsigned char key[32], const void *plain, size_t n, const void *ad,
               size_t adn)
{
    init_sodium();
    size_t total = NONCE + n + TAG;
    unsigned char *box = fbi_xmalloc(total);
    randombytes_buf(box, NONCE);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(box + NONCE, &clen, plain, n, ad, adn, NULL, box,
                                               key);
    size_t b64n = sodium_base64_ENCODED_LEN(total, sodium_base64_VARIANT_ORIGINAL);
    char *out = fbi_xmalloc(b64n);
    sodium_bin2base64(out, b64n, box, total, sodium_base64_VARIANT_ORIGINAL);
    free(box);
    return out;
}

int fbi_unseal(const unsigned char key[32], const char *sealed, const void *ad, size_t adn,
               unsigned char **plain, size_t *n)
{
    init_sodium();
    *plain = NULL;
    *n = 0;
    size_t len = strlen(sealed);
    unsigned char *box = fbi_xmalloc(len + 1);
    size_t bn = 0;
    if (sodium_base642bin(box, len + 1, sealed, len, NULL, &bn, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 || bn < NONCE + TAG) {
        free(box);
        return -1;
    }
    unsigned char *p = fbi_locked_alloc(bn - NONCE - TAG + 1);
    unsigned long long pn = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(p, &pn, NULL, box + NONCE, bn - NONCE, ad, adn,
                                                   box, key) != 0) {
        fbi_locked_free(p);
        free(box);
        return -1;
    }
    free(box);
    p[pn] = 0;
    *plain = p;
    *n = (size_t)pn;
    return 0;
}
