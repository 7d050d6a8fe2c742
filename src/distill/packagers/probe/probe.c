/*
 * distill-probe: an HTTP health check for images without a shell or curl.
 *
 *   distill-probe http://HOST[:PORT][/PATH]
 *
 * HOST is an IPv4 literal or "localhost". Sends "GET PATH HTTP/1.0" and exits
 * 0 when the status line is 2xx, 1 otherwise (bad URL, refused, timed out,
 * other status). Freestanding: no libc, raw Linux system calls, one file for
 * x86_64 and aarch64, built by distill.packagers.probe_build so the binaries
 * committed beside this file can be rebuilt byte for byte.
 */

typedef unsigned long u64;
typedef long i64;

#define TIMEOUT_SECONDS 5
#define AF_INET 2
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

struct sockaddr_in {
    unsigned short family;
    unsigned short port;       /* network byte order */
    unsigned char addr[4];
    unsigned char zero[8];
};

struct timeval { i64 sec; i64 usec; };

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

/* "HOST[:PORT]" up to '/' or the end; fills addr, port; returns the path or 0. */
static const char *parse_authority(const char *p, struct sockaddr_in *addr) {
    i64 port = 80;
    if (starts_with(p, "localhost")) {
        addr->addr[0] = 127; addr->addr[3] = 1;
        p += 9;
    } else {
        for (int i = 0; i < 4; i++) {
            i64 octet = number(&p, 255);
            if (octet < 0 || (i < 3 && *p++ != '.')) return 0;
            addr->addr[i] = (unsigned char)octet;
        }
    }
    if (*p == ':') {
        p++;
        port = number(&p, 65535);
        if (port <= 0) return 0;
    }
    if (*p != '/' && *p != 0) return 0;
    addr->family = AF_INET;
    addr->port = (unsigned short)(((port & 0xff) << 8) | (port >> 8));
    return *p ? p : "/";
}

static u64 append(char *buffer, u64 at, u64 limit, const char *text, u64 count) {
    while (count-- && *text && at < limit) buffer[at++] = *text++;
    return at;
}

static int request(const char *url) {
    static char out[2048];
    static char in[16];
    struct sockaddr_in addr = {0};
    struct timeval timeout = {TIMEOUT_SECONDS, 0};
    if (!starts_with(url, "http://")) return 1;
    const char *authority = url + 7;
    const char *path = parse_authority(authority, &addr);
    if (!path) return 1;
    u64 n = append(out, 0, sizeof out, "GET ", 4);
    n = append(out, n, sizeof out, path, sizeof out);
    n = append(out, n, sizeof out, " HTTP/1.0\r\nHost: ", 17);
    n = append(out, n, sizeof out, authority, (u64)(path - authority));
    n = append(out, n, sizeof out, "\r\nUser-Agent: distill-probe\r\n\r\n", 31);
    if (n == sizeof out) return 1;
    i64 fd = sys5(SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0);
    if (fd < 0) return 1;
    sys5(SYS_setsockopt, fd, SOL_SOCKET, SO_RCVTIMEO, (i64)&timeout, sizeof timeout);
    sys5(SYS_setsockopt, fd, SOL_SOCKET, SO_SNDTIMEO, (i64)&timeout, sizeof timeout);
    if (sys5(SYS_connect, fd, (i64)&addr, sizeof addr, 0, 0) < 0) return 1;
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

int probe_main(i64 *stack) {
    i64 argc = stack[0];
    char **argv = (char **)(stack + 1);
    if (argc != 2) return 1;
    return request(argv[1]);
}
