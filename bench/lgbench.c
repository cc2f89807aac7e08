// lgbench: the small TCP tools bench/run needs, in C because Python cannot move 1 GiB/s and
// its timer noise would swamp microsecond latencies. Loopback only; every server is one
// process, one connection at a time (except hold-server), killed by bench/run's trap.
//
//   lgbench bulk-server PORT          per connection: read a u64 N; N > 0: send N bytes and
//                                     close; N == 0: read until EOF, then close
//   lgbench bulk-get PORT N           receive N bytes; prints "bytes seconds MB/s"
//   lgbench bulk-put PORT N           send N bytes, half-close, wait for the server's close
//   lgbench hold-server PORT          accepts and holds every connection, greets each with "!"
//   lgbench hold-client PORT N        opens N connections, waits for each greeting (so each is
//                                     established end to end), prints "ready N", holds them
//                                     until killed
//   lgbench http-reqs PORT PATH N     N keep-alive GETs in a row on one connection; prints
//                                     "requests seconds req/s"
//
// MB/s is 10^6 bytes per second. All sockets are TCP_NODELAY, as real servers' are.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (1 << 20)

static void die(const char* what) {
  fprintf(stderr, "lgbench: %s: %s\n", what, strerror(errno));
  exit(2);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = loopback(port);
  if (bind(fd, (struct sockaddr*)&a, sizeof a) != 0) die("bind");
  if (listen(fd, 4096) != 0) die("listen");
  return fd;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = loopback(port);
  if (connect(fd, (struct sockaddr*)&a, sizeof a) != 0) die("connect");
  nodelay(fd);
  return fd;
}

static int write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_exact(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

// Reads until EOF; returns the byte count (-1 on error).
static int64_t drain(int fd, char* buf) {
  int64_t total = 0;
  for (;;) {
    ssize_t r = read(fd, buf, BUF_SIZE);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) return total;
    total += r;
  }
}

_Noreturn static void bulk_server(int port) {
  char* buf = calloc(1, BUF_SIZE);
  int lfd = listen_on(port);
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR) continue;
      die("accept");
    }
    nodelay(fd);
    uint64_t n = 0;
    if (read_exact(fd, (char*)&n, sizeof n) == 0) {
      if (n == 0) {
        drain(fd, buf);
      } else {
        while (n > 0) {
          size_t chunk = n < BUF_SIZE ? (size_t)n : BUF_SIZE;
          if (write_all(fd, buf, chunk) != 0) break;
          n -= chunk;
        }
      }
    }
    close(fd);
  }
}

static int bulk_client(int port, uint64_t n, int put) {
  char* buf = calloc(1, BUF_SIZE);
  uint64_t t0 = now_ns();
  int fd = connect_to(port);
  uint64_t header = put ? 0 : n;
  if (write_all(fd, (const char*)&header, sizeof header) != 0) die("write header");
  int64_t moved;
  if (put) {
    uint64_t left = n;
    while (left > 0) {
      size_t chunk = left < BUF_SIZE ? (size_t)left : BUF_SIZE;
      if (write_all(fd, buf, chunk) != 0) die("write");
      left -= chunk;
    }
    shutdown(fd, SHUT_WR);
    if (drain(fd, buf) < 0) die("read");  // the server closes once it has read everything
    moved = (int64_t)n;
  } else {
    moved = drain(fd, buf);
    if (moved < 0) die("read");
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  close(fd);
  if ((uint64_t)moved != n) {
    fprintf(stderr, "lgbench: moved %lld of %llu bytes\n", (long long)moved, (unsigned long long)n);
    return 1;
  }
  printf("%lld %.6f %.1f\n", (long long)moved, secs, (double)moved / secs / 1e6);
  return 0;
}

_Noreturn static void hold_server(int port) {
  int lfd = listen_on(port);
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      die("accept");
    }
    if (write(fd, "!", 1) != 1) close(fd);  // held otherwise: the fd is simply never closed
  }
}

_Noreturn static void hold_client(int port, long n) {
  int* fds = calloc((size_t)n, sizeof(int));
  const long batch = 200;  // connect a batch, then collect its greetings: stays under backlogs
  for (long start = 0; start < n; start += batch) {
    long end = start + batch < n ? start + batch : n;
    for (long i = start; i < end; i++) fds[i] = connect_to(port);
    for (long i = start; i < end; i++) {
      struct timeval tv = {20, 0};
      setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char c;
      if (read(fds[i], &c, 1) != 1) {
        fprintf(stderr, "lgbench: connection %ld got no greeting\n", i);
        exit(1);
      }
    }
  }
  printf("ready %ld\n", n);
  fflush(stdout);
  for (;;) pause();  // bench/run measures, then kills us: the kernel closes every socket
}

// N keep-alive GETs one after the other on one connection: the round trip when nothing queues.
static int http_reqs(int port, const char* path, long n) {
  int fd = connect_to(port);
  char req[512];
  int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", path);
  static char buf[1 << 20];
  uint64_t t0 = now_ns();
  for (long i = 0; i < n; i++) {
    if (write_all(fd, req, (size_t)len) != 0) die("write");
    size_t have = 0;
    long body = -1;
    size_t head_end = 0;
    for (;;) {
      ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        fprintf(stderr, "lgbench: connection closed after %ld responses\n", i);
        return 1;
      }
      have += (size_t)r;
      buf[have] = 0;
      if (body < 0) {
        char* end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        head_end = (size_t)(end - buf) + 4;
        char* cl = strcasestr(buf, "\r\ncontent-length:");
        if (!cl || cl > end) {
          fprintf(stderr, "lgbench: response without Content-Length\n");
          return 1;
        }
        body = strtol(cl + 17, NULL, 10);
      }
      if (have >= head_end + (size_t)body) break;
    }
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  close(fd);
  printf("%ld %.6f %.1f\n", n, secs, (double)n / secs);
  return 0;
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 3) {
    fprintf(stderr, "usage: lgbench bulk-server|bulk-get|bulk-put|hold-server|hold-client|http-reqs PORT [ARGS]\n");
    return 2;
  }
  const char* cmd = argv[1];
  int port = atoi(argv[2]);
  if (!strcmp(cmd, "bulk-server")) bulk_server(port);
  if (!strcmp(cmd, "bulk-get") && argc == 4) return bulk_client(port, strtoull(argv[3], NULL, 10), 0);
  if (!strcmp(cmd, "bulk-put") && argc == 4) return bulk_client(port, strtoull(argv[3], NULL, 10), 1);
  if (!strcmp(cmd, "hold-server")) hold_server(port);
  if (!strcmp(cmd, "http-reqs") && argc == 5) return http_reqs(port, argv[3], atol(argv[4]));
  if (!strcmp(cmd, "hold-client") && argc == 4) hold_client(port, atol(argv[3]));
  fprintf(stderr, "lgbench: bad arguments\n");
  return 2;
}
