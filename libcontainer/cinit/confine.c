// The container process's last steps, in C: the terminal, process.rlimits,
// the capability sets, the user, no_new_privs, the umask and the cwd, the
// lookup of process.args[0], and exec. Every credential change is a raw
// system call on the calling thread, never libc's process-wide version
// (musl broadcasts set*id to every thread, which a Go process must not
// have done behind its back): the payload is exec'd from this thread.
#define _GNU_SOURCE
#include "cinit.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

// errstr words errno as Go's syscall package does, so that messages read
// the same whichever half of the init wrote them (and engines match "no
// such file or directory" and "permission denied" in them).
const char *hull_errstr(int e)
{
	switch (e) {
	case EPERM: return "operation not permitted";
	case ENOENT: return "no such file or directory";
	case ESRCH: return "no such process";
	case EINTR: return "interrupted system call";
	case EIO: return "input/output error";
	case ENXIO: return "no such device or address";
	case E2BIG: return "argument list too long";
	case ENOEXEC: return "exec format error";
	case EBADF: return "bad file descriptor";
	case EAGAIN: return "resource temporarily unavailable";
	case ENOMEM: return "cannot allocate memory";
	case EACCES: return "permission denied";
	case EFAULT: return "bad address";
	case EBUSY: return "device or resource busy";
	case EEXIST: return "file exists";
	case ENODEV: return "no such device";
	case ENOTDIR: return "not a directory";
	case EISDIR: return "is a directory";
	case EINVAL: return "invalid argument";
	case ENFILE: return "too many open files in system";
	case EMFILE: return "too many open files";
	case ENOTTY: return "inappropriate ioctl for device";
	case ETXTBSY: return "text file busy";
	case ENOSPC: return "no space left on device";
	case EROFS: return "read-only file system";
	case EPIPE: return "broken pipe";
	case ERANGE: return "numerical result out of range";
	case ENAMETOOLONG: return "file name too long";
	case ENOSYS: return "function not implemented";
	case ELOOP: return "too many levels of symbolic links";
	case ENOTSOCK: return "socket operation on non-socket";
	case ECONNREFUSED: return "connection refused";
	}
	static char buf[128];
	snprintf(buf, sizeof(buf), "%s", strerror(e));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

int hull_seterr(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, HULL_ERRLEN, fmt, ap);
	va_end(ap);
	return -1;
}

// quote is Go's %q for the strings that appear in messages: quotes around,
// backslash escapes inside.
const char *hull_quote(char *out, size_t n, const char *s)
{
	size_t o = 0;
	out[o++] = '"';
	for (; *s && o + 6 < n; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			o += snprintf(out + o, n - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += snprintf(out + o, n - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

static uint32_t rd32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t rd64(const unsigned char *b)
{
	return (uint64_t)rd32(b) | (uint64_t)rd32(b + 4) << 32;
}

void hull_plan_free(struct hull_plan *p)
{
	if (p == NULL)
		return;
	free(p->rlimits);
	free(p->gids);
	free(p->argv);
	free(p->envp);
	free(p->raw);
	free(p);
}

// A record is a tag byte, a little-endian u32 length and the payload;
// strings end in a NUL that the length counts.
struct hull_plan *hull_plan_parse(const char *in, size_t len, char *err)
{
	struct hull_plan *p = calloc(1, sizeof(*p));
	unsigned char *buf = malloc(len + 1);
	if (p == NULL || buf == NULL) {
		free(p);
		free(buf);
		hull_seterr(err, "decode the plan: %s", hull_errstr(ENOMEM));
		return NULL;
	}
	memcpy(buf, in, len);
	p->raw = buf;
	p->umask = -1;
	p->console_fd = -1;
	p->close_from = 3;
	p->fd_sock = p->root_fd = p->fifo_fd = -1;
	int nargs = 0, nenv = 0, nrl = 0;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			p->argv = calloc(nargs + 1, sizeof(char *));
			p->envp = calloc(nenv + 1, sizeof(char *));
			p->rlimits = calloc(nrl + 1, sizeof(struct hull_rlimit));
			if (!p->argv || !p->envp || !p->rlimits)
				goto nomem;
		}
		int ia = 0, ie = 0, ir = 0;
		for (size_t pos = 0; pos < len;) {
			if (len - pos < 5)
				goto bad;
			unsigned char tag = buf[pos];
			size_t n = rd32(buf + pos + 1);
			pos += 5;
			if (n > len - pos)
				goto bad;
			unsigned char *v = buf + pos;
			pos += n;
			int is_str = tag == 'a' || tag == 'e' || tag == 'd' || tag == 'K' || tag == 'o' || tag == 'W';
			if (is_str && (n == 0 || v[n - 1] != '\0' || strlen((char *)v) != n - 1)) {
				hull_seterr(err, "decode the plan: a string of record '%c' holds a NUL byte", tag);
				goto fail;
			}
			switch (tag) {
			case 'a':
				if (pass)
					p->argv[ia] = (char *)v;
				ia++;
				break;
			case 'e':
				if (pass)
					p->envp[ie] = (char *)v;
				ie++;
				break;
			case 'd':
				p->cwd = (char *)v;
				break;
			case 'r':
				if (n != 20)
					goto bad;
				if (pass)
					p->rlimits[ir] = (struct hull_rlimit){(int)rd32(v), rd64(v + 4), rd64(v + 12)};
				ir++;
				break;
			case 'c':
				if (n != 40)
					goto bad;
				p->bounding = rd64(v);
				p->effective = rd64(v + 8);
				p->permitted = rd64(v + 16);
				p->inheritable = rd64(v + 24);
				p->ambient = rd64(v + 32);
				p->has_caps = 1;
				break;
			case 'u':
				if (n < 8 || n % 4 != 0)
					goto bad;
				p->has_user = 1;
				p->uid = rd32(v);
				p->gid = rd32(v + 4);
				if (pass) {
					p->ngids = (int)(n - 8) / 4;
					p->gids = calloc(p->ngids + 1, sizeof(uint32_t));
					if (p->gids == NULL)
						goto nomem;
					for (int i = 0; i < p->ngids; i++)
						p->gids[i] = rd32(v + 8 + 4 * i);
				}
				break;
			case 'n':
				p->no_new_privs = 1;
				break;
			case 'm':
				if (n != 4)
					goto bad;
				p->umask = (int)(rd32(v) & 07777);
				break;
			case 't':
				if (n != 12)
					goto bad;
				p->terminal = 1;
				p->console_fd = (int)rd32(v);
				p->rows = rd32(v + 4);
				p->cols = rd32(v + 8);
				break;
			case 'f':
				if (n != 4)
					goto bad;
				p->close_from = (int)rd32(v);
				break;
			case 'B':
				p->create = 1;
				break;
			case 'S':
			case 'R':
			case 'x':
				if (n != 4)
					goto bad;
				*(tag == 'S' ? &p->fd_sock : tag == 'R' ? &p->root_fd : &p->fifo_fd) = (int)rd32(v);
				break;
			case 'C':
				p->unshare_cgroupns = 1;
				break;
			case 'K':
				p->keyring = (char *)v;
				break;
			case 'o':
				p->rootfs = (char *)v;
				break;
			case 'A':
				if (n != 8)
					goto bad;
				p->after_prop = rd64(v);
				break;
			case 'W':
				p->after_prop_name = (char *)v;
				break;
			case 'T':
				p->peer_from_parent = 1;
				break;
			default:
				goto bad;
			}
		}
		p->nrlimits = ir;
		nargs = ia, nenv = ie, nrl = ir;
		if (pass == 1) {
			if (nargs == 0 || p->cwd == NULL || !p->has_caps || !p->has_user ||
			    (p->create && (p->fd_sock < 0 || p->root_fd < 0 || p->fifo_fd < 0 || p->rootfs == NULL))) {
				hull_seterr(err, "decode the plan: args, cwd, user or capabilities missing");
				goto fail;
			}
			p->argv[nargs] = NULL;
			p->envp[nenv] = NULL;
		}
	}
	return p;
bad:
	hull_seterr(err, "decode the plan: malformed record");
	goto fail;
nomem:
	hull_seterr(err, "decode the plan: %s", hull_errstr(ENOMEM));
fail:
	hull_plan_free(p);
	return NULL;
}

int hull_terminal(struct hull_plan *p, int *peer, char *err)
{
	if (p->console_fd < 0)
		return hull_seterr(err, "process.terminal: no console socket to send the pty to");
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return hull_seterr(err, "process.terminal: open /dev/ptmx: %s", hull_errstr(errno));
	if (hull_pty(m, p->rows, p->cols, p->console_fd, peer, err) < 0)
		return -1;
	close(p->console_fd);
	p->console_fd = -1;
	return 0;
}

int hull_pty(int m, uint32_t rows, uint32_t cols, int console_fd, int *peer, char *err)
{
	int unlock = 0;
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
		int e = errno;
		close(m);
		return hull_seterr(err, "process.terminal: unlock pty: %s", hull_errstr(e));
	}
	// The peer comes from the master itself, so no path in the container's
	// /dev can redirect it (CVE-2025-52565).
	int pf = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (pf < 0) {
		int e = errno;
		close(m);
		return hull_seterr(err, "process.terminal: open pty peer: %s", hull_errstr(e));
	}
	if (rows || cols) {
		struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
		if (ioctl(m, TIOCSWINSZ, &ws) < 0) {
			int e = errno;
			close(m), close(pf);
			return hull_seterr(err, "process.consoleSize: %s", hull_errstr(e));
		}
	}
	// runc sends the pty's name as the body; engines ignore it.
	if (hull_send_fd(console_fd, "/dev/ptmx", m) < 0) {
		int e = errno;
		close(m), close(pf);
		return hull_seterr(err, "send the pty master over the console socket: %s", hull_errstr(e));
	}
	close(m);
	*peer = pf;
	return 0;
}

int hull_send_fd(int sock, const char *body, int fd)
{
	struct iovec iov = {.iov_base = (void *)body, .iov_len = strlen(body)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int hull_controlling(int peer, char *err)
{
	if (setsid() < 0)
		return hull_seterr(err, "setsid: %s", hull_errstr(errno));
	if (ioctl(peer, TIOCSCTTY, 0) < 0)
		return hull_seterr(err, "make the pty the controlling terminal: %s", hull_errstr(errno));
	for (int fd = 0; fd <= 2; fd++)
		if (dup3(peer, fd, 0) < 0)
			return hull_seterr(err, "pty as stdio: %s", hull_errstr(errno));
	return 0;
}

static struct {
	int valid;
	uint64_t cur, max;
} saved_nofile;

void hull_save_nofile(void)
{
	uint64_t r[2];
	if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, r) == 0) {
		saved_nofile.cur = r[0], saved_nofile.max = r[1];
		saved_nofile.valid = 1;
	}
}

static int set_rlimits(struct hull_plan *p, char *err)
{
	int nofile = 0;
	for (int i = 0; i < p->nrlimits; i++)
		nofile |= p->rlimits[i].type == RLIMIT_NOFILE;
	// The Go runtime raised the soft limit of open files at start; with no
	// process.rlimits entry for it the payload gets the one hull had.
	if (!nofile && saved_nofile.valid) {
		uint64_t r[2] = {saved_nofile.cur, saved_nofile.max};
		syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, r, NULL);
	}
	for (int i = 0; i < p->nrlimits; i++) {
		uint64_t r[2] = {p->rlimits[i].soft, p->rlimits[i].hard};
		if (syscall(SYS_prlimit64, 0, p->rlimits[i].type, r, NULL) < 0)
			return hull_seterr(err, "process.rlimits[%d]: %s", i, hull_errstr(errno));
	}
	return 0;
}

// drop_bounding needs CAP_SETPCAP, so it runs before the user change. The
// last capability is asked of the kernel: the container may have no /proc.
static int drop_bounding(uint64_t keep, char *err)
{
	for (int c = 0; c < 64 && prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++) {
		if (keep & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			return hull_seterr(err, "process.capabilities.bounding: dropping capability %d: %s", c, hull_errstr(errno));
	}
	return 0;
}

// set_user changes the groups and ids of this thread. PR_SET_KEEPCAPS keeps
// the permitted set across the uid change so that set_caps can then set
// exactly the configured sets.
static int set_user(struct hull_plan *p, char *err)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hull_seterr(err, "process.user: keep capabilities: %s", hull_errstr(errno));
	if (syscall(SYS_setgroups, p->ngids, p->gids) < 0) {
		// Without CAP_SETGID in the user namespace, or with setgroups
		// denied, only an empty list matching the current one is fine.
		int e = errno;
		if (p->ngids > 0 || e != EPERM) {
			char list[512];
			size_t o = 0;
			list[0] = '\0';
			for (int i = 0; i < p->ngids && o + 12 < sizeof(list); i++)
				o += snprintf(list + o, sizeof(list) - o, "%s%u", i ? " " : "", p->gids[i]);
			return hull_seterr(err, "process.user.additionalGids [%s]: setgroups: %s", list, hull_errstr(e));
		}
	}
	if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
		return hull_seterr(err, "process.user.gid %u: %s (is it mapped in the user namespace?)", p->gid, hull_errstr(errno));
	if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
		return hull_seterr(err, "process.user.uid %u: %s (is it mapped in the user namespace?)", p->uid, hull_errstr(errno));
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hull_seterr(err, "process.user: %s", hull_errstr(errno));
	return 0;
}

// set_caps sets the effective, permitted and inheritable sets, then the
// ambient set, which the kernel accepts only for capabilities already
// permitted and inheritable.
static int set_caps(struct hull_plan *p, char *err)
{
	// <linux/capability.h>'s layout; musl's headers do not carry it.
	struct {
		uint32_t version;
		int pid;
	} hdr = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
	struct {
		uint32_t effective, permitted, inheritable;
	} data[2] = {
		{(uint32_t)p->effective, (uint32_t)p->permitted, (uint32_t)p->inheritable},
		{(uint32_t)(p->effective >> 32), (uint32_t)(p->permitted >> 32), (uint32_t)(p->inheritable >> 32)},
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		return hull_seterr(err, "process.capabilities: capset: %s", hull_errstr(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return hull_seterr(err, "process.capabilities.ambient: clearing: %s", hull_errstr(errno));
	for (int c = 0; c < 64; c++) {
		if (!(p->ambient & (1ULL << c)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return hull_seterr(err, "process.capabilities.ambient: raising capability %d (it must also be permitted and inheritable): %s", c, hull_errstr(errno));
	}
	return 0;
}

// set_cwd enters process.cwd and proves the result is inside the
// container's root: a cwd through a leaked fd (/proc/self/fd/N) would land
// outside, and getcwd then reports it unreachable (CVE-2024-21626).
static int set_cwd(const char *cwd, char *err)
{
	char q[PATH_MAX + 16];
	hull_quote(q, sizeof(q), cwd);
	if (chdir(cwd) < 0)
		return hull_seterr(err, "process.cwd %s: %s", q, hull_errstr(errno));
	static char buf[PATH_MAX];
	long n = syscall(SYS_getcwd, buf, sizeof(buf));
	if (n < 0)
		return hull_seterr(err, "process.cwd %s: outside the container's root filesystem (%s)", q, hull_errstr(errno));
	if (buf[0] != '/')
		return hull_seterr(err, "process.cwd %s: resolves outside the container's root filesystem", q);
	return 0;
}

// hull_confine applies process.* in the order privileges allow: rlimits
// and the bounding set while still privileged, then the user, the
// capability sets, no_new_privs, umask, cwd.
int hull_confine(struct hull_plan *p, char *err)
{
	if (set_rlimits(p, err) < 0 || drop_bounding(p->bounding, err) < 0 ||
	    set_user(p, err) < 0 || set_caps(p, err) < 0)
		return -1;
	if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hull_seterr(err, "process.noNewPrivileges: %s", hull_errstr(errno));
	if (p->umask >= 0)
		umask((mode_t)p->umask);
	return set_cwd(p->cwd, err);
}

// executable is Go's exec.LookPath test, worded as Go words it.
static int executable(const char *path, char *detail, size_t n, int *notexist)
{
	struct stat st;
	*notexist = 0;
	if (stat(path, &st) < 0) {
		*notexist = errno == ENOENT;
		snprintf(detail, n, "stat %s: %s", path, hull_errstr(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(detail, n, "stat %s: is a directory: permission denied", path);
		return -1;
	}
	// access(2) checks the real uid: the process's own user by now.
	if (access(path, X_OK) < 0) {
		snprintf(detail, n, "stat %s: %s", path, hull_errstr(errno));
		return -1;
	}
	return 0;
}

// hull_lookpath finds args[0] the way execvp would, with the PATH of
// process.env, and words its errors as Go's os/exec (and so runc) does:
// engines map "executable file not found in $PATH" and "no such file or
// directory" to exit status 127, "permission denied" to 126.
int hull_lookpath(struct hull_plan *p, char **out, char *err)
{
	const char *file = p->argv[0];
	char q[PATH_MAX + 16], detail[2 * PATH_MAX];
	int notexist;
	hull_quote(q, sizeof(q), file);
	if (strchr(file, '/') != NULL) {
		if (executable(file, detail, sizeof(detail), &notexist) < 0)
			return hull_seterr(err, "exec: %s: %s", q, detail);
		*out = (char *)file;
		return 0;
	}
	const char *path = NULL;
	for (char **e = p->envp; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	char first[2 * PATH_MAX] = "";
	static char cand[PATH_MAX];
	for (const char *dir = path; dir != NULL && *path != '\0';) {
		const char *end = strchr(dir, ':');
		size_t dl = end ? (size_t)(end - dir) : strlen(dir);
		while (dl > 1 && dir[dl - 1] == '/')
			dl--;
		if (dl == 0 || (dl == 1 && dir[0] == '.'))
			snprintf(cand, sizeof(cand), "%s", file);
		else
			snprintf(cand, sizeof(cand), "%.*s/%s", (int)dl, dir, file);
		if (executable(cand, detail, sizeof(detail), &notexist) == 0) {
			*out = cand;
			return 0;
		}
		if (first[0] == '\0' && !notexist)
			snprintf(first, sizeof(first), "%s", detail);
		dir = end ? end + 1 : NULL;
	}
	if (first[0] != '\0')
		return hull_seterr(err, "exec: %s: %s", q, first);
	return hull_seterr(err, "exec: %s: executable file not found in $PATH", q);
}

void hull_json_error(int fd, const char *msg)
{
	char out[4 * HULL_ERRLEN + 64];
	size_t o = (size_t)snprintf(out, sizeof(out), "{\"type\":\"error\",\"msg\":\"");
	for (const unsigned char *s = (const unsigned char *)msg; *s && o + 8 < sizeof(out); s++) {
		if (*s == '"' || *s == '\\')
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\%c", *s);
		else if (*s < 0x20)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\u%04x", *s);
		else
			out[o++] = (char)*s;
	}
	o += (size_t)snprintf(out + o, sizeof(out) - o, "\"}\n");
	if (write(fd, out, o) < 0) {
		// The parent is gone: nobody to tell.
	}
}

int hull_read_full(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

long long hull_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void hull_die(int fd, const char *msg)
{
	hull_json_error(fd, msg);
	_exit(1);
}

struct hull_plan *hull_read_plan(int fd)
{
	char err[HULL_ERRLEN];
	// The plan: a u32 length, then its records. A parent gone before it
	// is sent leaves nobody to report to.
	unsigned char lenb[4];
	if (hull_read_full(fd, lenb, 4) < 0)
		_exit(1);
	size_t len = rd32(lenb);
	if (len > (16u << 20))
		hull_die(fd, "decode the plan: too large");
	char *buf = malloc(len);
	if (buf == NULL)
		hull_die(fd, "decode the plan: cannot allocate memory");
	if (hull_read_full(fd, buf, len) < 0)
		_exit(1);
	struct hull_plan *p = hull_plan_parse(buf, len, err);
	if (p == NULL)
		hull_die(fd, err);
	free(buf);
	return p;
}

// hull_wait_line reads one JSON line from the parent and checks it is the
// message want (e.g. "\"placed\""). A parent gone meanwhile means exit.
int hull_wait_line(int fd, const char *want)
{
	char line[256];
	size_t n = 0;
	while (n < sizeof(line) - 1) {
		if (hull_read_full(fd, line + n, 1) < 0)
			_exit(1);
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	if (strstr(line, want) == NULL)
		_exit(1);
	return 0;
}

// hull_finish is the end of every init: the process's own steps, ready,
// the wait for start (a created container) and exec. It never returns.
void hull_finish(int fd, struct hull_plan *p, int peer, long long started, long long placed)
{
	char err[HULL_ERRLEN];
	if (peer >= 0) {
		if (hull_controlling(peer, err) < 0)
			hull_die(fd, err);
		if (peer > 2)
			close(peer);
	}
	if (hull_confine(p, err) < 0)
		hull_die(fd, err);
	long long confined = hull_now_ns();
	char *path;
	if (hull_lookpath(p, &path, err) < 0)
		hull_die(fd, err);
	// No fd of hull's may reach the payload (CVE-2024-21626): everything
	// from the first of ours up is close-on-exec; the preserved fds stay.
	if (syscall(SYS_close_range, p->close_from, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		hull_seterr(err, "mark fds close-on-exec: %s", hull_errstr(errno));
		hull_die(fd, err);
	}
	dprintf(fd, "{\"type\":\"ready\",\"marks\":[{\"name\":\"init: started (C)\",\"at\":%lld},"
		    "{\"name\":\"init: placed\",\"at\":%lld},{\"name\":\"init: process confined\",\"at\":%lld}]}\n",
		started, placed, confined);
	close(fd);
	if (p->fifo_fd >= 0) {
		// Block until `hull start` writes a byte. From here on nobody
		// reads the sync socket: the container's stderr is where a
		// failure can still be seen.
		char b;
		for (;;) {
			ssize_t r = read(p->fifo_fd, &b, 1);
			if (r == 1)
				break;
			if (r < 0 && errno == EINTR)
				continue;
			dprintf(2, "hull init: wait for start on the exec fifo: %s\n", r < 0 ? hull_errstr(errno) : "end of file");
			_exit(1);
		}
		close(p->fifo_fd);
	}
	hull_execve(p, path, err);
	dprintf(2, "hull init: %s\n", err);
	_exit(127);
}

void hull_exec_main(int fd)
{
	char err[HULL_ERRLEN];
	long long started = hull_now_ns();
	struct hull_plan *p = hull_read_plan(fd);
	// Then wait for the parent's {"type":"placed"}: until then the process
	// is not in the container's cgroup.
	hull_wait_line(fd, "\"placed\"");
	long long placed = hull_now_ns();
	int peer = -1;
	if (p->terminal && hull_terminal(p, &peer, err) < 0)
		hull_die(fd, err);
	hull_finish(fd, p, peer, started, placed);
}

void hull_execve(struct hull_plan *p, const char *path, char *err)
{
	execve(path, p->argv, p->envp);
	char q[PATH_MAX + 16];
	hull_seterr(err, "exec %s: %s", hull_quote(q, sizeof(q), path), hull_errstr(errno));
}
