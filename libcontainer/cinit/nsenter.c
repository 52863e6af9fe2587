// The kernel lets only a single-threaded process join an existing mount,
// user or time namespace, and the Go runtime is multi-threaded before any Go
// code runs. So a re-executed hull that must join namespaces does it here, in
// a constructor that runs before the Go runtime starts, and only when the
// parent asked for it through _HULL_SETNS ("fd:type,fd:type,...").
#define _GNU_SOURCE
#include "cinit.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define MAX_NS 16

struct ns {
	int fd;
	int flag;
	const char *type;
};

static int ns_flag(const char *type)
{
	static const struct {
		const char *name;
		int flag;
	} types[] = {
		{"user", CLONE_NEWUSER}, {"mount", CLONE_NEWNS}, {"network", CLONE_NEWNET},
		{"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},  {"pid", CLONE_NEWPID},
		{"cgroup", CLONE_NEWCGROUP}, {"time", 0x80 /* CLONE_NEWTIME */},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, type) == 0)
			return types[i].flag;
	return -1;
}

// fail reports to the parent over the sync socket in the JSON message form
// the Go side speaks, then exits: the Go runtime must not start in a half-
// joined process.
static void fail(const char *what, const char *type, int err)
{
	const char *fdstr = getenv("_HULL_SYNCFD");
	char msg[256];
	snprintf(msg, sizeof(msg), "%s the %s namespace: %s", what, type, strerror(err));
	hull_json_error(fdstr ? atoi(fdstr) : 2, msg);
	_exit(1);
}

static void join_namespaces(const char *spec);

__attribute__((constructor)) static void hull_cinit(void)
{
	// A hull init (it has a sync fd) runs the hull binary inside the
	// container until it execs the payload. Non-dumpable, its /proc/<pid>/exe
	// cannot be opened by the container's processes, so they cannot reach
	// the binary to overwrite it (CVE-2019-5736). This is the earliest
	// point; exec of the payload makes the process dumpable again.
	const char *sync = getenv("_HULL_SYNCFD");
	if (sync == NULL)
		return;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("making the init non-dumpable before joining", "any", errno);
	hull_save_nofile();
	join_namespaces(getenv("_HULL_SETNS"));
	// The init of an exec, and of a container the parent builds, is all
	// C: the Go runtime never starts in it.
	const char *mode = getenv("_HULL_CINIT");
	if (mode != NULL && strcmp(mode, "exec") == 0)
		hull_exec_main(atoi(sync));
	if (mode != NULL && strcmp(mode, "create") == 0)
		hull_create_main(atoi(sync));
}

static void join_namespaces(const char *spec)
{
	if (spec == NULL || *spec == '\0')
		return;

	static char buf[1024];
	struct ns list[MAX_NS];
	int n = 0;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && n < MAX_NS;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		if (colon == NULL)
			fail("parsing _HULL_SETNS for", tok, EINVAL);
		*colon = '\0';
		list[n].fd = atoi(tok);
		list[n].type = colon + 1;
		list[n].flag = ns_flag(colon + 1);
		if (list[n].flag < 0)
			fail("unknown type when joining", colon + 1, EINVAL);
		n++;
	}

	// Join what we can with the host's privileges first, then the user
	// namespace (which may take them away), then retry what needed the
	// privileges of that user namespace: the order that works whichever
	// user namespace owns each of the others.
	int pending[MAX_NS] = {0};
	for (int i = 0; i < n; i++) {
		if (list[i].flag == CLONE_NEWUSER)
			continue;
		pending[i] = setns(list[i].fd, list[i].flag) < 0 ? errno : 0;
	}
	for (int i = 0; i < n; i++) {
		if (list[i].flag == CLONE_NEWUSER && setns(list[i].fd, CLONE_NEWUSER) < 0)
			fail("joining", list[i].type, errno);
	}
	for (int i = 0; i < n; i++) {
		if (pending[i] && setns(list[i].fd, list[i].flag) < 0)
			fail("joining", list[i].type, errno);
	}
	for (int i = 0; i < n; i++)
		close(list[i].fd);
	unsetenv("_HULL_SETNS");
}
