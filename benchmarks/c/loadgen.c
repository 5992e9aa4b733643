/* TCP load generator for plait's benchmark harness: one thread, epoll, non-blocking sockets.
 *
 *   loadgen bulk     HOST PORT SECONDS                 MB/s echoed back (1 conn, 64 KiB writes)
 *   loadgen pingpong HOST PORT SECONDS CONNS SIZE      round trips/s summed over CONNS
 *   loadgen connect  HOST PORT SECONDS CONCURRENCY SIZE  connect+send+echo+close per second
 *   loadgen idle     HOST PORT COUNT                   open COUNT connections, one echo each,
 *                                                      print a "ready" line, hold them until
 *                                                      stdin closes (or 120 s), then close
 *
 * Every byte that comes back is checked against what was sent; a mismatch exits with status 3.
 * The first WARMUP seconds are not counted in "value"; "total" counts the whole run (MB, messages
 * or connections), for the harness's server-CPU-per-operation figure. The result is one JSON
 * line on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 0.25
#define BULK_CHUNK 65536
#define BULK_WINDOW (4 * 1024 * 1024) /* bytes in flight at most */
#define PERIOD 251                    /* bulk pattern: byte at stream offset o is o % 251 */
#define MAXMSG 65536

static struct sockaddr_in target;
#define WAIT_MS 10 /* epoll_wait timeout: the clock is checked at least this often */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void mismatch(const char *what) {
    fprintf(stderr, "loadgen: echoed bytes differ from what was sent (%s)\n", what);
    exit(3);
}

static void nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A blocking connect, retried while the kernel has no free local port (TIME_WAIT). */
static int connectBlocking(void) {
    for (int attempt = 0;; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) die("socket");
        if (connect(fd, (struct sockaddr *)&target, sizeof target) == 0) {
            nodelay(fd);
            return fd;
        }
        int err = errno;
        close(fd);
        if (err == EADDRNOTAVAIL && attempt < 2000) {
            usleep(5000);
            continue;
        }
        errno = err;
        die("connect");
    }
}

static void raiseFileLimit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- bulk ---------------------------------------------------------------------------------- */

static int bulk(double seconds) {
    static unsigned char pattern[BULK_CHUNK + PERIOD], rbuf[BULK_CHUNK * 4];
    for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = i % PERIOD;
    int fd = connectBlocking();
    nonblocking(fd);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    uint64_t sent = 0, received = 0, counted0 = 0;
    int wantOut = 1;
    double start = now(), begin = start + WARMUP, end = begin + seconds, t;
    int warm = 0;
    while ((t = now()) < end) {
        if (!warm && t >= begin) {
            counted0 = received;
            warm = 1;
        }
        struct epoll_event events[2];
        int n = epoll_wait(ep, events, 2, WAIT_MS);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t r = read(fd, rbuf, sizeof rbuf);
                    if (r > 0) {
                        /* rbuf must equal the pattern from offset received % PERIOD on. */
                        size_t done = 0;
                        while (done < (size_t)r) {
                            size_t k = (size_t)r - done;
                            if (k > BULK_CHUNK) k = BULK_CHUNK;
                            if (memcmp(rbuf + done, pattern + (received + done) % PERIOD, k))
                                mismatch("bulk");
                            done += k;
                        }
                        received += r;
                        continue;
                    }
                    if (r == 0) {
                        fprintf(stderr, "loadgen: server closed the connection\n");
                        exit(2);
                    }
                    if (errno == EAGAIN) break;
                    if (errno != EINTR) die("read");
                }
            }
            if (events[i].events & EPOLLOUT) {
                while (sent - received < BULK_WINDOW) {
                    ssize_t w = write(fd, pattern + sent % PERIOD, BULK_CHUNK);
                    if (w > 0) {
                        sent += w;
                        continue;
                    }
                    if (w < 0 && errno == EAGAIN) break;
                    if (w < 0 && errno != EINTR) die("write");
                }
            }
        }
        int want = sent - received < BULK_WINDOW;
        if (want != wantOut) {
            ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
            epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
            wantOut = want;
        }
    }
    double elapsed = t - begin;
    uint64_t bytes = received - counted0;
    printf("{\"mode\": \"bulk\", \"value\": %.3f, \"unit\": \"MB/s\", \"bytes\": %llu, "
           "\"seconds\": %.4f, \"total\": %.6f}\n",
           bytes / elapsed / 1e6, (unsigned long long)bytes, elapsed, received / 1e6);
    return 0;
}

/* ---- message patterns (ping-pong and connect) ---------------------------------------------- */

static void fillMessage(unsigned char *buf, int size, uint32_t conn, uint32_t seq) {
    uint32_t x = conn * 2654435761u ^ seq * 40503u;
    for (int i = 0; i < size; i++) buf[i] = (unsigned char)(x + i * 7);
}

struct conn {
    int fd;
    uint32_t id, seq;
    int got; /* bytes of the current echo received */
    int state; /* connect mode: 0 connecting, 1 reading */
    unsigned char want[MAXMSG];
};

static void readEcho(struct conn *c, int size, unsigned char *scratch, int *complete) {
    *complete = 0;
    for (;;) {
        ssize_t r = read(c->fd, scratch, size - c->got);
        if (r > 0) {
            if (memcmp(scratch, c->want + c->got, r)) mismatch("message");
            c->got += r;
            if (c->got == size) {
                *complete = 1;
                return;
            }
            continue;
        }
        if (r == 0) {
            fprintf(stderr, "loadgen: server closed a connection\n");
            exit(2);
        }
        if (errno == EAGAIN) return;
        if (errno != EINTR) die("read");
    }
}

static void sendMessage(struct conn *c, int size) {
    fillMessage(c->want, size, c->id, c->seq);
    c->got = 0;
    ssize_t w = write(c->fd, c->want, size);
    if (w != size) die("write (a small message should fit in the socket buffer)");
}

/* ---- ping-pong ----------------------------------------------------------------------------- */

static int pingpong(double seconds, int nconns, int size) {
    struct conn *conns = calloc(nconns, sizeof *conns);
    unsigned char scratch[MAXMSG];
    int ep = epoll_create1(0);
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = connectBlocking();
        conns[i].id = i;
        nonblocking(conns[i].fd);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    for (int i = 0; i < nconns; i++) sendMessage(&conns[i], size);
    uint64_t messages = 0, counted0 = 0;
    double start = now(), begin = start + WARMUP, end = begin + seconds, t;
    int warm = 0;
    struct epoll_event events[256];
    while ((t = now()) < end) {
        if (!warm && t >= begin) {
            counted0 = messages;
            warm = 1;
        }
        int n = epoll_wait(ep, events, 256, WAIT_MS);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            int complete;
            readEcho(c, size, scratch, &complete);
            if (complete) {
                messages++;
                c->seq++;
                sendMessage(c, size);
            }
        }
    }
    double elapsed = t - begin;
    uint64_t count = messages - counted0;
    printf("{\"mode\": \"pingpong\", \"value\": %.3f, \"unit\": \"msg/s\", \"messages\": %llu, "
           "\"connections\": %d, \"seconds\": %.4f, \"total\": %llu}\n",
           count / elapsed, (unsigned long long)count, nconns, elapsed,
           (unsigned long long)messages);
    return 0;
}

/* ---- connect ------------------------------------------------------------------------------- */

static uint64_t addrBusy, connects;

static int startConnect(struct conn *c, int ep) {
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0) die("socket");
        int r = connect(fd, (struct sockaddr *)&target, sizeof target);
        if (r == 0 || errno == EINPROGRESS) {
            nodelay(fd);
            c->fd = fd;
            c->state = 0;
            c->got = 0;
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            connects++;
            return 0;
        }
        int err = errno;
        close(fd);
        if (err == EADDRNOTAVAIL) { /* local ports all in TIME_WAIT: wait for one to free up */
            addrBusy++;
            usleep(1000);
            continue;
        }
        errno = err;
        die("connect");
    }
}

static int connectMode(double seconds, int concurrency, int size) {
    struct conn *conns = calloc(concurrency, sizeof *conns);
    unsigned char scratch[MAXMSG];
    int ep = epoll_create1(0);
    for (int i = 0; i < concurrency; i++) {
        conns[i].id = i;
        startConnect(&conns[i], ep);
    }
    uint64_t done = 0, counted0 = 0, failed = 0;
    double start = now(), begin = start + WARMUP, end = begin + seconds, t;
    int warm = 0;
    struct epoll_event events[256];
    while ((t = now()) < end) {
        if (!warm && t >= begin) {
            counted0 = done;
            warm = 1;
        }
        int n = epoll_wait(ep, events, 256, WAIT_MS);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c->state == 0) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                    failed++;
                    close(c->fd);
                    if (failed > 1000) {
                        fprintf(stderr, "loadgen: connect failed: %s\n", strerror(err));
                        exit(2);
                    }
                    startConnect(c, ep);
                    continue;
                }
                c->seq++;
                sendMessage(c, size);
                c->state = 1;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                continue;
            }
            int complete;
            readEcho(c, size, scratch, &complete);
            if (complete) {
                done++;
                close(c->fd);
                startConnect(c, ep);
            }
        }
    }
    double elapsed = t - begin;
    uint64_t count = done - counted0;
    printf("{\"mode\": \"connect\", \"value\": %.3f, \"unit\": \"conn/s\", \"completed\": %llu, "
           "\"concurrency\": %d, \"failed\": %llu, \"addr_busy_waits\": %llu, "
           "\"seconds\": %.4f, \"total\": %llu}\n",
           count / elapsed, (unsigned long long)count, concurrency, (unsigned long long)failed,
           (unsigned long long)addrBusy, elapsed, (unsigned long long)done);
    return 0;
}

/* ---- idle ---------------------------------------------------------------------------------- */

static int idle(int count) {
    int *fds = calloc(count, sizeof *fds);
    for (int i = 0; i < count; i++) {
        fds[i] = connectBlocking();
        struct timeval tv = {.tv_sec = 10};
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        unsigned char out = (unsigned char)i, in = 0;
        if (write(fds[i], &out, 1) != 1) die("write");
        if (read(fds[i], &in, 1) != 1) die("read (echo of the greeting byte)");
        if (in != out) mismatch("idle");
    }
    printf("{\"mode\": \"idle\", \"ready\": %d}\n", count);
    fflush(stdout);
    struct pollfd p = {.fd = 0, .events = POLLIN};
    char buf[64];
    double end = now() + 120;
    while (now() < end) {
        if (poll(&p, 1, 1000) > 0 && read(0, buf, sizeof buf) <= 0) break;
    }
    for (int i = 0; i < count; i++) close(fds[i]);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: loadgen bulk|pingpong|connect|idle HOST PORT ARGS...\n");
        return 1;
    }
    raiseFileLimit();
    signal(SIGPIPE, SIG_IGN); /* a server gone mid-write is reported as EPIPE */
    target.sin_family = AF_INET;
    target.sin_port = htons(atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &target.sin_addr) != 1) {
        fprintf(stderr, "loadgen: bad IPv4 address %s\n", argv[2]);
        return 1;
    }
    const char *mode = argv[1];
    if (!strcmp(mode, "bulk")) return bulk(atof(argv[4]));
    if (!strcmp(mode, "pingpong") && argc == 7) {
        int size = atoi(argv[6]);
        if (size < 1 || size > MAXMSG) return 1;
        return pingpong(atof(argv[4]), atoi(argv[5]), size);
    }
    if (!strcmp(mode, "connect") && argc == 7) {
        int size = atoi(argv[6]);
        if (size < 1 || size > MAXMSG) return 1;
        return connectMode(atof(argv[4]), atoi(argv[5]), size);
    }
    if (!strcmp(mode, "idle")) return idle(atoi(argv[4]));
    fprintf(stderr, "loadgen: bad arguments\n");
    return 1;
}
