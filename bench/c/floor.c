// floor: the least work a container start needs, as a yardstick for the
// runtimes. One clone with five new namespaces, the mount namespace made
// private, the rootfs bind-mounted and pivoted into, /proc mounted, then
// exec of /bin/true, waited for. No config parsing, no cgroups, no state,
// no capabilities: whatever a runtime costs above this is its own overhead.
//
// Usage: floor ROOTFS (an absolute path). Exit status: the payload's.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *rootfs;
static char stack[64 * 1024] __attribute__((aligned(16)));

static void die(const char *what)
{
	perror(what);
	_exit(127);
}

static int child(void *arg)
{
	(void)arg;
	// Private first, so nothing below propagates back to the caller.
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("floor: make / private");
	// pivot_root needs the new root to be a mount point.
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL))
		die("floor: bind-mount the rootfs");
	if (chdir(rootfs))
		die("floor: chdir to the rootfs");
	// pivot_root(".", ".") stacks the old root on the new one; detaching
	// "." then drops the old root without needing a directory for it.
	if (syscall(SYS_pivot_root, ".", "."))
		die("floor: pivot_root");
	if (umount2(".", MNT_DETACH))
		die("floor: detach the old root");
	if (chdir("/"))
		die("floor: chdir /");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		die("floor: mount /proc");
	char *argv[] = {"/bin/true", NULL};
	char *envp[] = {"PATH=/bin", NULL};
	execve(argv[0], argv, envp);
	die("floor: exec /bin/true");
	return 127;
}

int main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: floor /absolute/rootfs\n");
		return 2;
	}
	rootfs = argv[1];
	pid_t pid = clone(child, stack + sizeof stack,
			  CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | SIGCHLD,
			  NULL);
	if (pid < 0)
		die("floor: clone");
	int status;
	if (waitpid(pid, &status, 0) < 0)
		die("floor: waitpid");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
