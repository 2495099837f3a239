/* k8s_auth.c - the credential of each request: a static token, a token
 * file (re-read every call: projected service-account tokens rotate), a
 * client certificate, or an exec credential plugin
 * (client.authentication.k8s.io/v1 ExecCredential) whose answer is cached
 * until its expirationTimestamp, as kubectl does. */
#include "config.h"
#include "k8s.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_EXEC_OUTPUT (1u << 20)
#define MAX_TOKEN_FILE (64u << 10)

/* Runs the plugin with KUBERNETES_EXEC_INFO and the kubeconfig's env added
 * to ours, stdin from /dev/null (never interactive). *out (new) its
 * stdout. 0, or -1 with *why (new). */
static int run_plugin(const k8s_conn *c, char **out, char **why)
{
    size_t ne = 0, nx = 0;
    while (environ[ne]) ne++;
    while (c->exec_env && c->exec_env[nx]) nx++;
    char **envp = fbk_xcalloc(ne + nx + 2, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++) {
        if (!strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21)) continue;
        int overridden = 0;
        for (size_t j = 0; j < nx && !overridden; j++) {
            const char *eq = strchr(c->exec_env[j], '=');
            size_t nl = (size_t)(eq - c->exec_env[j]);
            overridden = !strncmp(environ[i], c->exec_env[j], nl + 1);
        }
        if (!overridden) envp[k++] = environ[i];
    }
    for (size_t j = 0; j < nx; j++) envp[k++] = c->exec_env[j];
    char *info = fbk_xasprintf("KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\","
                               "\"spec\":{\"interactive\":false}}", c->exec_api);
    envp[k++] = info;
    envp[k] = NULL;

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        *why = fbk_xasprintf("pipe: %s", strerror(errno));
        free(envp);
        free(info);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    pid_t pid;
    int err = posix_spawnp(&pid, c->exec_command, &fa, NULL, c->exec_args, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    free(envp);
    free(info);
    if (err != 0) {
        close(pfd[0]);
        *why = fbk_xasprintf("cannot run %s: %s", c->exec_command, strerror(err));
        return -1;
    }
    fbk_buf b;
    fbk_buf_init(&b);
    char chunk[4096];
    ssize_t n;
    int too_big = 0;
    while ((n = read(pfd[0], chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR)) {
        if (n < 0) continue;
        if (b.len + (size_t)n > MAX_EXEC_OUTPUT) too_big = 1;
        else fbk_buf_append(&b, chunk, (size_t)n);
    }
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || too_big) {
        *why = too_big ? fbk_xasprintf("%s wrote more than 1 MiB", c->exec_command)
             : WIFEXITED(status) ? fbk_xasprintf("%s exited with status %d", c->exec_command, WEXITSTATUS(status))
                                 : fbk_xasprintf("%s was killed by signal %d", c->exec_command, WTERMSIG(status));
        fbk_buf_wipe(&b);
        return -1;
    }
    fbk_buf_putc(&b, '\0');
    *out = fbk_buf_steal(&b);
    return 0;
}

/* Runs the plugin and fills the cache. Lock held. */
static fb_status exec_refresh(k8s_conn *c, fb_diag *diag)
{
    char *text = NULL, *why = NULL;
    fb_status st = FB_AUTH;
    json_t *doc = NULL;
    if (run_plugin(c, &text, &why) != 0) goto fail;
    char *yerr = NULL;
    doc = json_loads(text, 0, NULL);
    if (!doc) doc = k8s_yaml_parse(text, strlen(text), &yerr);
    free(yerr);
    fbk_free_secret(text);
    if (!json_is_object(doc) || strcmp(json_string_value(json_object_get(doc, "kind")) ?: "", "ExecCredential")) {
        why = fbk_xasprintf("%s did not print an ExecCredential", c->exec_command);
        goto fail;
    }
    const char *api = json_string_value(json_object_get(doc, "apiVersion"));
    if (!api || strcmp(api, c->exec_api)) {
        why = fbk_xasprintf("%s answered apiVersion %s; the kubeconfig asked for %s", c->exec_command,
                            api ? api : "(none)", c->exec_api);
        goto fail;
    }
    json_t *status = json_object_get(doc, "status");
    const char *tok = json_string_value(json_object_get(status, "token"));
    const char *cert = json_string_value(json_object_get(status, "clientCertificateData"));
    const char *key = json_string_value(json_object_get(status, "clientKeyData"));
    const char *exp = json_string_value(json_object_get(status, "expirationTimestamp"));
    if ((!tok || !*tok) && (!cert || !key)) {
        why = fbk_xasprintf("%s's ExecCredential has neither status.token nor clientCertificateData and "
                            "clientKeyData", c->exec_command);
        goto fail;
    }
    int64_t expiry = 0;
    if (exp && fbk_parse_rfc3339(exp, &expiry) != 0) {
        why = fbk_xasprintf("%s's status.expirationTimestamp '%s' is not an RFC 3339 time", c->exec_command, exp);
        goto fail;
    }
    fbk_free_secret(c->exec_token);
    free(c->exec_cert);
    fbk_free_secret(c->exec_key);
    c->exec_token = tok && *tok ? fbk_xstrdup(tok) : NULL;
    c->exec_cert = cert && key ? fbk_xstrdup(cert) : NULL;
    c->exec_key = cert && key ? fbk_xstrdup(key) : NULL;
    c->exec_expiry = expiry;
    json_decref(doc);
    return FB_OK;
fail:
    json_decref(doc);
    {
        char *m = fbk_xasprintf("k8s: the exec credential plugin of %s failed: %s", c->source, why);
        k8s_host->diag_add(diag, FB_SEV_ERROR, m,
                           "run the plugin by hand (the kubeconfig's users[].user.exec) and fix what it says, "
                           "e.g. log in again", NULL);
        free(m);
    }
    free(why);
    return st;
}

fb_status k8s_auth(k8s_conn *c, fb_diag *diag, int refresh, char **token, char **cert, char **key)
{
    *token = NULL;
    *cert = c->cert_pem ? fbk_xstrdup(c->cert_pem) : NULL;
    *key = c->key_pem ? fbk_xstrdup(c->key_pem) : NULL;
    if (c->token) {
        *token = fbk_xstrdup(c->token);
        return FB_OK;
    }
    if (c->token_file) {
        size_t len = 0;
        int err = 0;
        char *ferr = NULL;
        char *t = fbk_read_file(c->token_file, MAX_TOKEN_FILE, &len, &err, &ferr);
        if (!t) {
            char *m = fbk_xasprintf("k8s: cannot read the token file %s (%s): %s", c->token_file, c->source,
                                    ferr ? ferr : strerror(err));
            k8s_host->diag_add(diag, FB_SEV_ERROR, m, "check the kubeconfig's tokenFile (or the pod's "
                               "service-account mount)", NULL);
            free(m);
            free(ferr);
            return FB_AUTH;
        }
        while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' ')) t[--len] = '\0';
        *token = t;
        return FB_OK;
    }
    if (!c->exec_command) return FB_OK;
    pthread_mutex_lock(&c->mu);
    fb_status st = FB_OK;
    int64_t now = k8s_host->now();
    int have = c->exec_token || c->exec_cert;
    if (refresh || !have || (c->exec_expiry && now >= c->exec_expiry)) st = exec_refresh(c, diag);
    if (st == FB_OK) {
        if (c->exec_token) *token = fbk_xstrdup(c->exec_token);
        if (c->exec_cert) {
            free(*cert);
            fbk_free_secret(*key);
            *cert = fbk_xstrdup(c->exec_cert);
            *key = fbk_xstrdup(c->exec_key);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return st;
}
