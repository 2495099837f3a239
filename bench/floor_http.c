/* bench/floor_http.c - the least an HTTP/1.1 server can do per request,
 * for bench/serve_floor.sh (bench/README-serve.md, "Stop 25: serve16"):
 * THREADS threads (default 2, like serve's pool), each with its own
 * listening socket on the same port (SO_REUSEPORT: the kernel spreads the
 * connections) and its own epoll loop; a keep-alive request is answered
 * with a fixed 200 and a small JSON body as soon as its headers end. No
 * parsing beyond finding the end of the headers, no allocation, no log, no
 * lock: the p99 it gets under wrk on the same machine is the floor the
 * machine's scheduling leaves to any server. Not part of fedbroker.
 *
 *   floor_http PORT [THREADS]      (prints "listening PORT" when ready) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char answer[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: application/json\r\n"
                             "Content-Length: 16\r\n"
                             "\r\n"
                             "{\"status\":\"ok\"}\n";

static int port;

/* per connection: how many bytes of "\r\n\r\n" the last read ended with,
 * so a header end split across two reads is still seen */
#define MAXFD 65536
static unsigned char tail_match[MAXFD];

static int listener(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* the number of requests whose headers end in buf (pipelined requests
 * each get an answer), carrying a partial "\r\n\r\n" over in *m */
static int count_ends(const char *buf, ssize_t n, unsigned char *m)
{
    static const char pat[] = "\r\n\r\n";
    int ends = 0;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == pat[*m]) {
            if (++*m == 4) {
                ends++;
                *m = 0;
            }
        } else {
            *m = buf[i] == '\r' ? 1 : 0;
        }
    }
    return ends;
}

static void *loop(void *arg)
{
    int lfd = (int)(long)arg;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event evs[64];
    char buf[16384];
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= MAXFD) {
                        close(c);
                        continue;
                    }
                    int one = 1;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    tail_match[c] = 0;
                    struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                continue;
            }
            int k = count_ends(buf, r, &tail_match[fd]);
            for (int j = 0; j < k; j++)
                if (send(fd, answer, sizeof answer - 1, MSG_NOSIGNAL) < 0) break;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
        return 64;
    }
    port = atoi(argv[1]);
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    if (threads < 1 || threads > 64) threads = 2;
    pthread_t t;
    for (int i = 0; i < threads; i++) {
        int lfd = listener();
        if (lfd < 0) {
            perror("floor_http: listen");
            return 1;
        }
        if (pthread_create(&t, NULL, loop, (void *)(long)lfd) != 0) return 1;
        pthread_detach(t);
    }
    printf("listening %d\n", port);
    fflush(stdout);
    pause();
    return 0;
}
