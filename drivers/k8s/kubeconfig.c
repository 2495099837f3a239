/* kubeconfig.c - finding the cluster as kubectl does: the kubeconfig files
 * (settings.kubeconfig, the $KUBECONFIG list merged, ~/.kube/config) or,
 * in a pod, the service account's token and CA. Everything a connection
 * needs is read here, once, by configure: PEM material into memory (the
 * host's libcurl takes it from there), token files by name (re-read per
 * call, as a projected token rotates). */
#include "config.h"
#include "k8s.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KUBECONFIG (4u << 20)
#define MAX_PEM (1u << 20)
#define DEFAULT_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* One kubeconfig file's entries, merged: the first file to name a cluster,
 * user or context wins, as does the first current-context. */
typedef struct merged {
    json_t *clusters, *users, *contexts; /* name -> {"v": entry, "dir": its file's directory} */
    char *current;                       /* current-context (new) */
    fbk_buf files;                       /* the files read, for messages */
} merged;

void k8s_conn_free(k8s_conn *c)
{
    if (!c) return;
    free(c->source);
    free(c->server);
    free(c->ca_pem);
    free(c->cert_pem);
    fbk_free_secret(c->key_pem);
    free(c->tls_server_name);
    free(c->proxy_url);
    fbk_free_secret(c->token);
    free(c->token_file);
    free(c->exec_command);
    for (char **a = c->exec_args; a && *a; a++) free(*a);
    free(c->exec_args);
    for (char **a = c->exec_env; a && *a; a++) fbk_free_secret(*a);
    free(c->exec_env);
    free(c->exec_api);
    fbk_free_secret(c->exec_token);
    free(c->exec_cert);
    fbk_free_secret(c->exec_key);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The directory part of path (new; "." when none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return fbk_xstrdup(".");
    if (slash == path) return fbk_xstrdup("/");
    return fbk_xstrndup(path, (size_t)(slash - path));
}

/* A path from a kubeconfig: relative ones are relative to its file. new. */
static char *resolve(const char *dir, const char *p)
{
    if (p[0] == '/' || !dir) return fbk_xstrdup(p);
    return fbk_xasprintf("%s/%s", dir, p);
}

/* Adds the named entries of list (clusters, users, contexts) to into,
 * keeping the first of each name. */
static void merge_list(json_t *into, json_t *list, const char *dir)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!name || json_object_get(into, name)) continue;
        json_object_set_new(into, name, json_pack("{s:O,s:s}", "v", e, "dir", dir));
    }
}

/* Reads one file into m. 0, 1 when it does not exist (skip_missing), -1
 * with *why. */
static int merge_file(merged *m, const char *path, int skip_missing, char **why)
{
    size_t len = 0;
    int err = 0;
    char *ferr = NULL;
    char *text = fbk_read_file(path, MAX_KUBECONFIG, &len, &err, &ferr);
    if (!text) {
        if (err == ENOENT && skip_missing) {
            free(ferr);
            return 1;
        }
        *why = fbk_xasprintf("kubeconfig %s: %s", path, ferr ? ferr : strerror(err));
        free(ferr);
        return -1;
    }
    char *yerr = NULL;
    json_t *doc = k8s_yaml_parse(text, len, &yerr);
    fbk_free_secret(text); /* it may hold tokens and keys */
    if (!doc) {
        *why = fbk_xasprintf("kubeconfig %s: %s", path, yerr);
        free(yerr);
        return -1;
    }
    if (!json_is_object(doc)) {
        *why = fbk_xasprintf("kubeconfig %s: not a map of clusters, users and contexts", path);
        json_decref(doc);
        return -1;
    }
    char *dir = dir_of(path);
    merge_list(m->clusters, json_object_get(doc, "clusters"), dir);
    merge_list(m->users, json_object_get(doc, "users"), dir);
    merge_list(m->contexts, json_object_get(doc, "contexts"), dir);
    const char *cur = json_string_value(json_object_get(doc, "current-context"));
    if (!m->current && cur && *cur) m->current = fbk_xstrdup(cur);
    free(dir);
    json_decref(doc);
    fbk_buf_printf(&m->files, "%s%s", m->files.len ? ":" : "", path);
    return 0;
}

/* base64 (standard alphabet, whitespace allowed) -> new NUL-terminated
 * text, or NULL. */
static char *b64_text(const char *in)
{
    size_t n = strlen(in);
    unsigned char *out = fbk_xmalloc(n + 4);
    EVP_ENCODE_CTX *e = EVP_ENCODE_CTX_new();
    int len = 0, fin = 0;
    EVP_DecodeInit(e);
    int ok = EVP_DecodeUpdate(e, out, &len, (const unsigned char *)in, (int)n) >= 0 &&
             EVP_DecodeFinal(e, out + len, &fin) == 1;
    EVP_ENCODE_CTX_free(e);
    if (!ok || len + fin == 0) {
        /* not NUL-terminated: wipe the whole buffer (it may hold a key) */
        fbk_wipe(out, n + 4);
        free(out);
        return NULL;
    }
    out[len + fin] = '\0';
    return (char *)out;
}

/* A PEM from "<key>-data" (base64) or "<key>" (a file relative to dir).
 * 0 with *out (new, or NULL when neither is set), -1 with *why. */
static int pem_of(const json_t *obj, const char *key, const char *dir, const char *where, char **out, char **why)
{
    char dkey[96];
    snprintf(dkey, sizeof dkey, "%s-data", key);
    const char *data = json_string_value(json_object_get(obj, dkey));
    const char *file = json_string_value(json_object_get(obj, key));
    *out = NULL;
    if (data && *data) {
        *out = b64_text(data);
        if (!*out || !strstr(*out, "-----BEGIN ")) {
            fbk_free_secret(*out);
            *out = NULL;
            *why = fbk_xasprintf("%s: %s is not base64 of a PEM block", where, dkey);
            return -1;
        }
        return 0;
    }
    if (!file || !*file) return 0;
    char *p = resolve(dir, file);
    size_t len = 0;
    int err = 0;
    char *ferr = NULL;
    *out = fbk_read_file(p, MAX_PEM, &len, &err, &ferr);
    if (!*out || !strstr(*out, "-----BEGIN ")) {
        *why = fbk_xasprintf("%s: %s %s: %s", where, key, p, *out ? "not a PEM file" : ferr ? ferr : strerror(err));
        fbk_free_secret(*out);
        *out = NULL;
        free(ferr);
        free(p);
        return -1;
    }
    free(p);
    return 0;
}

/* The cluster part of a connection. */
static int read_cluster(k8s_conn *c, const json_t *cl, const char *dir, const char *where, const k8s_conn_opts *o,
                        char **why)
{
    const char *server = json_string_value(json_object_get(cl, "server"));
    if (!server || (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))) {
        *why = fbk_xasprintf("%s: server is %s", where, server ? "not an http(s) URL" : "missing");
        return -1;
    }
    if (!strncmp(server, "http://", 7) && !o->allow_insecure) {
        *why = fbk_xasprintf("%s: server %s is plain HTTP: credentials would cross the network in clear text "
                             "(set drivers.k8s.allowInsecure: true only for a throwaway local cluster)", where, server);
        return -1;
    }
    c->server = fbk_xstrdup(server);
    size_t n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/') c->server[--n] = '\0';
    if (pem_of(cl, "certificate-authority", dir, where, &c->ca_pem, why) != 0) return -1;
    const char *sni = json_string_value(json_object_get(cl, "tls-server-name"));
    if (sni && *sni) c->tls_server_name = fbk_xstrdup(sni);
    const char *proxy = json_string_value(json_object_get(cl, "proxy-url"));
    if (proxy && *proxy) c->proxy_url = fbk_xstrdup(proxy);
    if (json_is_true(json_object_get(cl, "insecure-skip-tls-verify"))) {
        if (!o->allow_insecure) {
            *why = fbk_xasprintf("%s: insecure-skip-tls-verify is set: the server's identity would not be checked "
                                 "and the credentials could go to anyone; give the cluster's "
                                 "certificate-authority instead (or set drivers.k8s.allowInsecure: true for a "
                                 "throwaway local cluster)", where);
            return -1;
        }
        c->insecure = 1;
    }
    return 0;
}

/* The user part: token, tokenFile, client certificate and key, exec. */
static int read_user(k8s_conn *c, const json_t *u, const char *dir, const char *where, char **why)
{
    const char *tok = json_string_value(json_object_get(u, "token"));
    const char *tf = json_string_value(json_object_get(u, "tokenFile"));
    if (tok && *tok) c->token = fbk_xstrdup(tok);
    else if (tf && *tf) c->token_file = resolve(dir, tf);
    if (pem_of(u, "client-certificate", dir, where, &c->cert_pem, why) != 0) return -1;
    if (pem_of(u, "client-key", dir, where, &c->key_pem, why) != 0) return -1;
    if (!c->cert_pem != !c->key_pem) {
        *why = fbk_xasprintf("%s: a client certificate needs its key (client-key or client-key-data) and a key "
                             "its certificate", where);
        return -1;
    }
    static const char *const unsup[] = {"auth-provider", "username", "password", "as", "as-user-extra"};
    for (size_t i = 0; i < sizeof unsup / sizeof *unsup; i++)
        if (json_object_get(u, unsup[i])) {
            *why = fbk_xasprintf("%s: '%s' is not supported by fedbroker; use a token, a client certificate or "
                                 "an exec credential plugin", where, unsup[i]);
            return -1;
        }
    const json_t *ex = json_object_get(u, "exec");
    if (ex && !json_is_null(ex)) {
        const char *cmd = json_string_value(json_object_get(ex, "command"));
        const char *api = json_string_value(json_object_get(ex, "apiVersion"));
        if (!cmd || !*cmd) {
            *why = fbk_xasprintf("%s: exec.command is missing", where);
            return -1;
        }
        if (!api || (strcmp(api, "client.authentication.k8s.io/v1") &&
                     strcmp(api, "client.authentication.k8s.io/v1beta1"))) {
            *why = fbk_xasprintf("%s: exec.apiVersion '%s' is not client.authentication.k8s.io/v1 or v1beta1",
                                 where, api ? api : "(missing)");
            return -1;
        }
        /* kubectl: a command with a '/' is relative to the kubeconfig;
         * a bare name is looked up in PATH */
        c->exec_command = strchr(cmd, '/') ? resolve(dir, cmd) : fbk_xstrdup(cmd);
        c->exec_api = fbk_xstrdup(api);
        const json_t *args = json_object_get(ex, "args");
        size_t na = json_array_size(args), k = 0;
        c->exec_args = fbk_xcalloc(na + 2, sizeof *c->exec_args);
        c->exec_args[k++] = fbk_xstrdup(c->exec_command);
        for (size_t i = 0; i < na; i++) {
            const char *a = json_string_value(json_array_get(args, i));
            if (a) c->exec_args[k++] = fbk_xstrdup(a);
        }
        const json_t *env = json_object_get(ex, "env");
        size_t ne = json_array_size(env);
        k = 0;
        c->exec_env = fbk_xcalloc(ne + 1, sizeof *c->exec_env);
        for (size_t i = 0; i < ne; i++) {
            const char *en = json_string_value(json_object_get(json_array_get(env, i), "name"));
            const char *ev = json_string_value(json_object_get(json_array_get(env, i), "value"));
            if (en && *en && ev) c->exec_env[k++] = fbk_xasprintf("%s=%s", en, ev);
        }
    }
    if (!c->token && !c->token_file && !c->cert_pem && !c->exec_command) {
        *why = fbk_xasprintf("%s: no credentials (token, tokenFile, client-certificate and client-key, or exec)",
                             where);
        return -1;
    }
    return 0;
}

static k8s_conn *conn_new(void)
{
    k8s_conn *c = fbk_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

/* In a pod: the API server from the environment, the service account's
 * token (a file, re-read) and CA. */
static int in_cluster(const k8s_conn_opts *o, k8s_conn **out, char **why)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    const char *dir = o->in_cluster_dir ? o->in_cluster_dir : DEFAULT_SA_DIR;
    k8s_conn *c = conn_new();
    c->source = fbk_xasprintf("in-cluster service account %s", dir);
    if (strchr(host, ':')) c->server = fbk_xasprintf("https://[%s]:%s", host, port && *port ? port : "443");
    else c->server = fbk_xasprintf("https://%s:%s", host, port && *port ? port : "443");
    json_t *cl = json_pack("{s:s}", "certificate-authority", "ca.crt");
    int rc = pem_of(cl, "certificate-authority", dir, c->source, &c->ca_pem, why);
    json_decref(cl);
    if (rc != 0) {
        k8s_conn_free(c);
        return -1;
    }
    c->token_file = fbk_xasprintf("%s/token", dir);
    *out = c;
    return 0;
}

int k8s_conn_load(const k8s_conn_opts *o, k8s_conn **out, char **why)
{
    *out = NULL;
    *why = NULL;
    merged m = {json_object(), json_object(), json_object(), NULL, {0}};
    fbk_buf_init(&m.files);
    int rc = 0, found = 0;
    const char *env = getenv("KUBECONFIG");
    if (o->kubeconfig) {
        rc = merge_file(&m, o->kubeconfig, 0, why);
        found = rc == 0;
    } else if (env && *env) {
        char *list = fbk_xstrdup(env);
        for (char *save = NULL, *p = strtok_r(list, ":", &save); p && rc >= 0; p = strtok_r(NULL, ":", &save)) {
            rc = merge_file(&m, p, 1, why);
            if (rc == 0) found = 1;
        }
        free(list);
        if (rc > 0) rc = 0;
    } else if (getenv("HOME")) {
        char *p = fbk_xasprintf("%s/.kube/config", getenv("HOME"));
        rc = merge_file(&m, p, 1, why);
        found = rc == 0;
        if (rc > 0) rc = 0;
        free(p);
    }
    if (rc == 0 && !found) {
        if (getenv("KUBERNETES_SERVICE_HOST") && *getenv("KUBERNETES_SERVICE_HOST")) {
            rc = in_cluster(o, out, why);
        } else {
            *why = fbk_xstrdup("no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not in a pod: point "
                               "drivers.k8s.kubeconfig (or KUBECONFIG) at your cluster's kubeconfig, e.g. the one "
                               "`kind get kubeconfig`, k3s (/etc/rancher/k3s/k3s.yaml) or minikube writes");
            rc = -1;
        }
        goto done;
    }
    if (rc != 0) goto done;
    const char *ctxname = o->context ? o->context : m.current;
    if (!ctxname) {
        *why = fbk_xasprintf("kubeconfig %s has no current-context: set drivers.k8s.context to one of its contexts",
                             m.files.data);
        rc = -1;
        goto done;
    }
    json_t *cx = json_object_get(json_object_get(m.contexts, ctxname), "v");
    json_t *cxv = json_object_get(cx, "context");
    if (!cxv) {
        *why = fbk_xasprintf("kubeconfig %s has no context '%s'%s", m.files.data, ctxname,
                             o->context ? " (drivers.k8s.context)" : " (its current-context)");
        rc = -1;
        goto done;
    }
    const char *cln = json_string_value(json_object_get(cxv, "cluster"));
    const char *usn = json_string_value(json_object_get(cxv, "user"));
    json_t *cl = json_object_get(m.clusters, cln ? cln : "");
    json_t *us = json_object_get(m.users, usn ? usn : "");
    if (!cl || !us) {
        *why = fbk_xasprintf("kubeconfig %s: context '%s' names %s '%s', which no file defines", m.files.data,
                             ctxname, !cl ? "cluster" : "user", !cl ? (cln ? cln : "") : (usn ? usn : ""));
        rc = -1;
        goto done;
    }
    k8s_conn *c = conn_new();
    c->source = fbk_xasprintf("kubeconfig %s, context %s", m.files.data, ctxname);
    char *where = fbk_xasprintf("kubeconfig %s, cluster '%s'", m.files.data, cln);
    rc = read_cluster(c, json_object_get(json_object_get(cl, "v"), "cluster"),
                      json_string_value(json_object_get(cl, "dir")), where, o, why);
    free(where);
    if (rc == 0) {
        where = fbk_xasprintf("kubeconfig %s, user '%s'", m.files.data, usn);
        rc = read_user(c, json_object_get(json_object_get(us, "v"), "user"),
                       json_string_value(json_object_get(us, "dir")), where, why);
        free(where);
    }
    if (rc != 0) k8s_conn_free(c);
    else *out = c;
done:
    json_decref(m.clusters);
    json_decref(m.users);
    json_decref(m.contexts);
    free(m.current);
    fbk_buf_free(&m.files);
    return rc < 0 ? -1 : 0;
}
