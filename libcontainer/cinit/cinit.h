// The C half of the init: what turns a process that is already in the
// container's namespaces into the container's process, and execs it. It
// runs either from the constructor in nsenter.c, before any Go runtime
// exists (exec: the whole init is C), or called from the Go init through
// cgo once the container's filesystem is built (create).
#ifndef HULL_CINIT_H
#define HULL_CINIT_H

#include <stddef.h>
#include <stdint.h>

#define HULL_ERRLEN 1024

struct hull_rlimit {
	int type;
	uint64_t soft, hard;
};

// A decoded plan: process.* of the config as the Go parent resolved it
// (cinit.go encodes it; the record format is described there).
struct hull_plan {
	unsigned char *raw; // a copy of the encoded plan; the strings point into it
	int nrlimits;
	struct hull_rlimit *rlimits;
	int has_caps;
	uint64_t bounding, effective, permitted, inheritable, ambient;
	int has_user;
	uint32_t uid, gid;
	int ngids;
	uint32_t *gids;
	int no_new_privs;
	int umask; // -1: leave it
	char *cwd;
	char **argv; // NULL-terminated
	char **envp; // NULL-terminated
	int terminal;
	int console_fd;
	uint32_t rows, cols; // 0: no process.consoleSize
	int close_from;
	// A container whose filesystem the parent built (create.c).
	int create;
	int fd_sock;          // SOCK_SEQPACKET to the parent's building thread
	int root_fd;          // the rootfs, bind-mounted onto itself
	int fifo_fd;          // the exec fifo
	int unshare_cgroupns; // make the cgroup namespace once placed
	char *keyring;        // NULL: keep the session keyring
	char *rootfs;         // root.path, for messages
	uint64_t after_prop;  // linux.rootfsPropagation to set after pivot_root
	char *after_prop_name;
	int peer_from_parent; // process.terminal: the pty peer comes over fd_sock
};

// hull_plan_parse decodes buf; on failure it returns NULL with err set.
struct hull_plan *hull_plan_parse(const char *buf, size_t len, char *err);
void hull_plan_free(struct hull_plan *p);

// Each step returns 0, or -1 with err set to a one-line message that names
// the config field.
int hull_terminal(struct hull_plan *p, int *peer, char *err);
int hull_controlling(int peer, char *err);
// hull_pty unlocks the pty master m, opens its peer, sizes it (rows and
// cols both 0: left alone) and sends m over console_fd; m is closed.
int hull_pty(int m, uint32_t rows, uint32_t cols, int console_fd, int *peer, char *err);
int hull_confine(struct hull_plan *p, char *err);
int hull_lookpath(struct hull_plan *p, char **path, char *err);
// hull_execve returns only on failure, with err set.
void hull_execve(struct hull_plan *p, const char *path, char *err);

// hull_save_nofile records RLIMIT_NOFILE as the process got it, before the
// Go runtime raises it, so that the payload gets it back.
void hull_save_nofile(void);

// hull_exec_main is the whole init of `hull exec`: it reads the plan from
// the sync socket, confines the process, reports ready and execs. It never
// returns.
void hull_exec_main(int sync_fd);

// hull_create_main is the whole init of a container whose filesystem the
// parent built (create.c). It never returns.
void hull_create_main(int sync_fd);

// hull_json_error writes {"type":"error","msg":...} to fd.
void hull_json_error(int fd, const char *msg);

// Helpers shared by confine.c and create.c.
const char *hull_errstr(int e);
int hull_seterr(char *err, const char *fmt, ...);
const char *hull_quote(char *out, size_t n, const char *s);
int hull_read_full(int fd, void *buf, size_t n);
// hull_send_fd sends fd over the unix socket sock with SCM_RIGHTS, body as
// the message.
int hull_send_fd(int sock, const char *body, int fd);
long long hull_now_ns(void);
void hull_die(int fd, const char *msg);
struct hull_plan *hull_read_plan(int fd);
void hull_finish(int fd, struct hull_plan *p, int peer, long long started, long long placed);
int hull_wait_line(int fd, const char *want);

#endif
