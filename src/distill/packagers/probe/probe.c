/*
 * distill-probe: a health check for images without a shell or curl.
 *
 *   distill-probe http://HOST[:PORT][/PATH]
 *   distill-probe tcp://HOST:PORT
 *
 * HOST is an IPv4 literal, an IPv6 literal in brackets ([::1], no zone and no
 * embedded IPv4) or "localhost" (127.0.0.1). For http: sends
 * "GET PATH HTTP/1.0" and exits 0 when the status line is 2xx. For tcp: exits
 * 0 when the connection is accepted. Exits 1 otherwise (bad argument, refused,
 * timed out, other status). Freestanding: no libc, raw Linux system calls, one
 * file for x86_64 and aarch64, built by distill.packagers.probe_build so the
 * binaries committed beside this file can be rebuilt byte for byte.
 */

typedef unsigned long u64;
typedef long i64;

#define TIMEOUT_SECONDS 5
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOL_SOCKET 1
#define SO_RCVTIMEO 20
#define SO_SNDTIMEO 21

#if defined(__x86_64__)
enum { SYS_read = 0, SYS_write = 1, SYS_socket = 41, SYS_connect = 42,
       SYS_setsockopt = 54, SYS_exit = 60 };

static i64 sys5(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e) {
    register i64 r10 __asm__("r10") = d;
    register i64 r8 __asm__("r8") = e;
    i64 ret;
    __asm__ volatile("syscall" : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
}

__asm__(".text\n.global _start\n_start:\n"
        "  xor %rbp, %rbp\n  mov %rsp, %rdi\n  and $-16, %rsp\n"
        "  call probe_main\n  mov %eax, %edi\n  mov $60, %eax\n  syscall\n");
#elif defined(__aarch64__)
enum { SYS_read = 63, SYS_write = 64, SYS_socket = 198, SYS_connect = 203,
       SYS_setsockopt = 208, SYS_exit = 93 };

static i64 sys5(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e) {
    register i64 x8 __asm__("x8") = n;
    register i64 x0 __asm__("x0") = a;
    register i64 x1 __asm__("x1") = b;
    register i64 x2 __asm__("x2") = c;
    register i64 x3 __asm__("x3") = d;
    register i64 x4 __asm__("x4") = e;
    __asm__ volatile("svc #0" : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4)
                     : "memory");
    return x0;
}

__asm__(".text\n.global _start\n_start:\n"
        "  mov x0, sp\n  bl probe_main\n  mov x8, #93\n  svc #0\n");
#else
#error "distill-probe supports x86_64 and aarch64"
#endif

/* sockaddr_in and sockaddr_in6 in one: the IPv4 address overlays the IPv6 flow info. */
struct address {
    unsigned short family;
    unsigned short port;       /* network byte order */
    unsigned char v4[4];
    unsigned char v6[16];
    unsigned char scope[4];
};

struct timeval { i64 sec; i64 usec; };

/* Static, so zeroed without a memset the freestanding build does not have. */
static struct address target;

static int starts_with(const char *text, const char *prefix) {
    while (*prefix) {
        if (*text++ != *prefix++) return 0;
    }
    return 1;
}

/* Parse a decimal number ending at one of the stop characters; -1 on error. */
static i64 number(const char **cursor, i64 max) {
    const char *p = *cursor;
    i64 value = 0;
    if (*p < '0' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9') {
        value = value * 10 + (*p++ - '0');
        if (value > max) return -1;
    }
    *cursor = p;
    return value;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "[v6]": fills target.v6; returns what follows ']' or 0. */
static const char *parse_ipv6(const char *p) {
    unsigned short groups[8];
    int count = 0, gap = -1;
    p++;
    if (*p == ':') {
        if (p[1] != ':') return 0;
        gap = 0;
        p += 2;
    }
    while (*p != ']') {
        int digits = 0, d;
        unsigned value = 0;
        if (count == 8) return 0;
        while ((d = hex_digit(*p)) >= 0) {
            value = value * 16 + (unsigned)d;
            p++;
            if (++digits > 4) return 0;
        }
        if (!digits) return 0;
        groups[count++] = (unsigned short)value;
        if (*p == ':') {
            p++;
            if (*p == ':') {
                if (gap >= 0) return 0;
                gap = count;
                p++;
            } else if (*p == ']') {
                return 0;
            }
        } else if (*p != ']') {
            return 0;
        }
    }
    if (gap < 0 ? count != 8 : count > 7) return 0;
    if (gap < 0) gap = count;
    for (int i = 0; i < count; i++) {
        int slot = i < gap ? i : 8 - (count - i);
        target.v6[2 * slot] = (unsigned char)(groups[i] >> 8);
        target.v6[2 * slot + 1] = (unsigned char)groups[i];
    }
    target.family = AF_INET6;
    return p + 1;
}

static const char *parse_ipv4(const char *p) {
    if (starts_with(p, "localhost")) {
        target.v4[0] = 127; target.v4[3] = 1;
        p += 9;
    } else {
        for (int i = 0; i < 4; i++) {
            i64 octet = number(&p, 255);
            if (octet < 0 || (i < 3 && *p++ != '.')) return 0;
            target.v4[i] = (unsigned char)octet;
        }
    }
    target.family = AF_INET;
    return p;
}

/* "HOST[:PORT]" up to '/' or the end (port required when default_port is 0);
 * fills target; returns the rest ("" or "/...") or 0. */
static const char *parse_authority(const char *p, i64 default_port) {
    i64 port = default_port;
    p = *p == '[' ? parse_ipv6(p) : parse_ipv4(p);
    if (!p) return 0;
    if (*p == ':') {
        p++;
        port = number(&p, 65535);
    }
    if (port <= 0 || (*p != '/' && *p != 0)) return 0;
    target.port = (unsigned short)(((port & 0xff) << 8) | (port >> 8));
    return p;
}

static i64 open_connection(void) {
    struct timeval timeout = {TIMEOUT_SECONDS, 0};
    i64 length = target.family == AF_INET ? 16 : 28;
    i64 fd = sys5(SYS_socket, target.family, SOCK_STREAM, 0, 0, 0);
    if (fd < 0) return -1;
    sys5(SYS_setsockopt, fd, SOL_SOCKET, SO_RCVTIMEO, (i64)&timeout, sizeof timeout);
    /* SO_SNDTIMEO bounds connect() too */
    sys5(SYS_setsockopt, fd, SOL_SOCKET, SO_SNDTIMEO, (i64)&timeout, sizeof timeout);
    if (sys5(SYS_connect, fd, (i64)&target, length, 0, 0) < 0) return -1;
    return fd;
}

static u64 append(char *buffer, u64 at, u64 limit, const char *text, u64 count) {
    while (count-- && *text && at < limit) buffer[at++] = *text++;
    return at;
}

static int http_request(const char *authority) {
    static char out[2048];
    static char in[16];
    const char *rest = parse_authority(authority, 80);
    if (!rest) return 1;
    const char *path = *rest ? rest : "/";
    u64 n = append(out, 0, sizeof out, "GET ", 4);
    n = append(out, n, sizeof out, path, sizeof out);
    n = append(out, n, sizeof out, " HTTP/1.0\r\nHost: ", 17);
    n = append(out, n, sizeof out, authority, (u64)(rest - authority));
    n = append(out, n, sizeof out, "\r\nUser-Agent: distill-probe\r\n\r\n", 31);
    if (n == sizeof out) return 1;
    i64 fd = open_connection();
    if (fd < 0) return 1;
    for (u64 sent = 0; sent < n;) {
        i64 w = sys5(SYS_write, fd, (i64)(out + sent), (i64)(n - sent), 0, 0);
        if (w <= 0) return 1;
        sent += (u64)w;
    }
    u64 got = 0;
    while (got < 12) {
        i64 r = sys5(SYS_read, fd, (i64)(in + got), (i64)(sizeof in - got), 0, 0);
        if (r <= 0) return 1;
        got += (u64)r;
    }
    /* "HTTP/1.x 2xx" */
    if (!starts_with(in, "HTTP/1.") || in[8] != ' ' || in[9] != '2') return 1;
    return 0;
}

static int tcp_connect(const char *authority) {
    const char *rest = parse_authority(authority, 0);
    if (!rest || *rest) return 1;
    return open_connection() < 0;
}

int probe_main(i64 *stack) {
    i64 argc = stack[0];
    char **argv = (char **)(stack + 1);
    if (argc != 2) return 1;
    if (starts_with(argv[1], "http://")) return http_request(argv[1] + 7);
    if (starts_with(argv[1], "tcp://")) return tcp_connect(argv[1] + 6);
    return 1;
}
