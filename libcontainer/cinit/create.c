// The init of a container whose root filesystem the parent built, on a
// thread of its own that shares this process's mount, UTS, IPC and network
// namespaces (libcontainer/build.go). What needs this process's own pid and
// cgroup namespaces the thread asks for over a SOCK_SEQPACKET socket:
//
//	"ctx <fstype>"   a filesystem context (fsopen) made here, so that a
//	                 procfs shows this pid namespace and a cgroupfs this
//	                 cgroup namespace; sent back with SCM_RIGHTS ("F"),
//	                 or "E<message>"
//	"peer" + fd      the pty peer of process.terminal
//	"built"          the filesystem is ready: pivot_root into it
//
// Then the process's own steps and exec, as for every init (confine.c).
#define _GNU_SOURCE
#include "cinit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1

static ssize_t recv_fd(int sock, char *buf, size_t n, int *fd)
{
	struct iovec iov = {.iov_base = buf, .iov_len = n};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	ssize_t r;
	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	*fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); r > 0 && c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return r;
}

// placed waits, once, for the parent's "placed": then this process is in
// the container's cgroups, and makes its cgroup namespace (rooted at the
// cgroup its creator is in) and its session keyring.
static void placed(int fd, struct hull_plan *p, long long *at)
{
	char err[HULL_ERRLEN];
	if (*at)
		return;
	hull_wait_line(fd, "\"placed\"");
	*at = hull_now_ns();
	if (p->unshare_cgroupns && unshare(CLONE_NEWCGROUP) < 0) {
		hull_seterr(err, "linux.namespaces: new cgroup namespace: %s", hull_errstr(errno));
		hull_die(fd, err);
	}
	// A keyring of its own keeps the container from reading the host's
	// session keys. Kernels or user namespaces without keyrings are fine.
	if (p->keyring && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, p->keyring) < 0 &&
	    errno != ENOSYS && errno != EACCES && errno != EDQUOT) {
		hull_seterr(err, "new session keyring (use --no-new-keyring to skip): %s", hull_errstr(errno));
		hull_die(fd, err);
	}
}

// serve answers the building thread until it says "built"; it builds while
// the parent places this process, so only what needs the cgroups waits for
// that. A thread that went away (its command failed) leaves nothing to do
// but exit.
static void serve(int fd, struct hull_plan *p, int *peer, long long *placed_at)
{
	for (;;) {
		char msg[64];
		int got;
		ssize_t n = recv_fd(p->fd_sock, msg, sizeof(msg) - 1, &got);
		if (n <= 0)
			_exit(1);
		msg[n] = '\0';
		if (strcmp(msg, "built") == 0)
			return;
		if (strcmp(msg, "peer") == 0 && got >= 0) {
			*peer = got;
			continue;
		}
		if (strncmp(msg, "ctx ", 4) != 0)
			_exit(1);
		if (strncmp(msg + 4, "cgroup", 6) == 0)
			placed(fd, p, placed_at);
		int fc = (int)syscall(SYS_fsopen, msg + 4, FSOPEN_CLOEXEC);
		if (fc < 0) {
			char reply[256];
			int len = snprintf(reply, sizeof(reply), "Efsopen %s: %s", msg + 4, hull_errstr(errno));
			send(p->fd_sock, reply, (size_t)len, MSG_NOSIGNAL);
			continue;
		}
		int r = hull_send_fd(p->fd_sock, "F", fc);
		close(fc);
		if (r < 0)
			_exit(1);
	}
}

// pivot makes the rootfs the root and drops the old one, as the Go init's
// pivotRoot does: pivot_root(".", ".") stacks the old root on the new one,
// reached through a handle and lazily unmounted, rslave first so that the
// unmount does not reach the host.
static int pivot(struct hull_plan *p, char *err)
{
	char q[PATH_MAX + 16];
	hull_quote(q, sizeof(q), p->rootfs);
	int old = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (old < 0)
		return hull_seterr(err, "root.path %s: switch root: open /: %s", q, hull_errstr(errno));
	if (fchdir(p->root_fd) < 0)
		return hull_seterr(err, "root.path %s: switch root: chdir: %s", q, hull_errstr(errno));
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return hull_seterr(err, "root.path %s: switch root: pivot_root: %s", q, hull_errstr(errno));
	if (fchdir(old) < 0)
		return hull_seterr(err, "root.path %s: switch root: chdir to the old root: %s", q, hull_errstr(errno));
	if (mount("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return hull_seterr(err, "root.path %s: switch root: make the old root rslave: mount: %s", q, hull_errstr(errno));
	if (umount2(".", MNT_DETACH) < 0)
		return hull_seterr(err, "root.path %s: switch root: detach the old root: umount: %s", q, hull_errstr(errno));
	if (chdir("/") < 0)
		return hull_seterr(err, "root.path %s: switch root: chdir /: %s", q, hull_errstr(errno));
	close(old);
	close(p->root_fd);
	if (p->after_prop && mount("", "/", NULL, (unsigned long)p->after_prop, NULL) < 0)
		return hull_seterr(err, "linux.rootfsPropagation: make / %s: mount: %s",
				   p->after_prop_name ? p->after_prop_name : "", hull_errstr(errno));
	return 0;
}

void hull_create_main(int fd)
{
	char err[HULL_ERRLEN];
	long long started = hull_now_ns(), placed_at = 0;
	struct hull_plan *p = hull_read_plan(fd);
	if (!p->create)
		hull_die(fd, "decode the plan: not the plan of a built container");
	int peer = -1;
	serve(fd, p, &peer, &placed_at);
	close(p->fd_sock);
	placed(fd, p, &placed_at);
	if (p->peer_from_parent && peer < 0)
		hull_die(fd, "process.terminal: the parent sent no pty");
	if (pivot(p, err) < 0)
		hull_die(fd, err);
	hull_finish(fd, p, peer, started, placed_at);
}
