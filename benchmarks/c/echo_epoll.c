/* A small single-threaded epoll TCP echo server: the practical ceiling for the TCP rows.
 *
 *   echo_epoll PORT [BACKLOG]      listens on 127.0.0.1:PORT; runs until killed
 *
 * Level-triggered epoll, non-blocking sockets. Whatever cannot be written at once is kept and
 * the connection stops reading until it has drained (backpressure), like the Python servers.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 65536

struct conn {
    int fd;
    size_t pending, offset; /* unwritten bytes of buf, from offset */
    char buf[BUF];
};

static int ep;

static void closeConn(struct conn *c) {
    close(c->fd);
    free(c);
}

static void setEvents(struct conn *c, unsigned events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is pending; returns -1 if the connection is gone, else 1 if all was written. */
static int flush(struct conn *c) {
    while (c->pending) {
        ssize_t w = write(c->fd, c->buf + c->offset, c->pending);
        if (w > 0) {
            c->offset += w;
            c->pending -= w;
        } else if (w < 0 && errno == EAGAIN) {
            return 0;
        } else if (!(w < 0 && errno == EINTR)) {
            return -1;
        }
    }
    return 1;
}

static void onReadable(struct conn *c) {
    for (;;) {
        ssize_t r = read(c->fd, c->buf, BUF);
        if (r > 0) {
            c->pending = r;
            c->offset = 0;
            int f = flush(c);
            if (f < 0) {
                closeConn(c);
                return;
            }
            if (f == 0) { /* socket full: wait for it to drain before reading more */
                setEvents(c, EPOLLOUT);
                return;
            }
            if (r < BUF) return; /* likely drained; level-triggered epoll tells us otherwise */
            continue;
        }
        if (r < 0 && errno == EAGAIN) return;
        if (r < 0 && errno == EINTR) continue;
        closeConn(c); /* EOF or error */
        return;
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: echo_epoll PORT [BACKLOG]\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-write is EPIPE, not the end of the server */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, argc > 2 ? atoi(argv[2]) : 128)) {
        perror("echo_epoll: bind/listen");
        return 2;
    }
    ep = epoll_create1(0);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("echo_epoll: epoll_wait");
            return 2;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = malloc(sizeof *nc);
                    nc->fd = fd;
                    nc->pending = nc->offset = 0;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            if (c->pending) {
                int f = flush(c);
                if (f < 0) {
                    closeConn(c);
                } else if (f > 0) {
                    setEvents(c, EPOLLIN);
                }
                continue;
            }
            onReadable(c);
        }
    }
}
