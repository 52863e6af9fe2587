// measure: run a command and report its wall time and the rusage of its
// process tree, as far as the tree waits for its own descendants.
//
// Why not measure from the Go benchmark directly: Go starts children with
// vfork semantics (CLONE_VM), and at execve the kernel adds the RSS high-water
// mark of the memory the child leaves, the parent's, to the child's
// ru_maxrss. Every runtime would then report the benchmark's own RSS. This
// small static program forks (a copy of its own tiny memory) instead.
//
// Usage: measure CMD [ARGS...]. On fd 3 it writes one line:
//   wall_ns user_us sys_us maxrss_kib
// and it exits with the command's status (128+signal if killed).
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: measure CMD [ARGS...] (report on fd 3)\n");
		return 2;
	}
	// The report fd must not reach the command, nor the containers it makes.
	if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0) {
		perror("measure: fd 3");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0) {
		perror("measure: fork");
		return 2;
	}
	if (pid == 0) {
		// If the benchmark kills this process (a call that hangs), the
		// command goes with it instead of running on unwatched.
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execvp(argv[1], argv + 1);
		perror("measure: exec");
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("measure: wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long wall = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	dprintf(3, "%lld %lld %lld %ld\n", wall,
		(long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
		(long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec,
		ru.ru_maxrss);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
