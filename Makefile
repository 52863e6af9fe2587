GO       ?= go
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/sbin
COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null)
# The binary is linked statically: no dynamic loader work on every command,
# and it runs unchanged in the cgroup v2 test VM.
LDFLAGS  := -X main.gitCommit=$(COMMIT) -linkmode external -extldflags -static
TAGS     := netgo osusergo
SOURCES  := $(shell find . -path ./tests -prune -o \( -name '*.go' -o -name '*.c' \) -print) go.mod go.sum

.PHONY: all test unit integration test-vm install clean bench

all: hull

hull: $(SOURCES)
	CGO_ENABLED=1 $(GO) build -trimpath -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o $@ .

# Unit tests need no root; the integration tests run real containers as root,
# inside a private mount namespace so that a bug cannot reach the host's
# mount table.
test: unit integration

unit:
	$(GO) vet ./...
	$(GO) test -v -count=1 ./libcontainer/...

integration: hull
	unshare -m --propagation private $(GO) test -v -count=1 -timeout 30m ./tests/

# The integration suite again, in a qemu VM that boots Debian's kernel with a
# pure cgroup v2 hierarchy and every controller (tests/vm/vm.sh; neither root
# nor KVM needed). RUN=regexp picks tests (go test -run), SKIP=regexp leaves
# tests out (SKIP= runs them all), VM_OUT=dir keeps the logs (tests/vm/out).
#
# SKIP defaults to the tests that still assume a v1/hybrid host and so fail
# on v2 for the test's reasons, not hull's (Debian's runc fails them in the
# VM alike): they look for hierarchies at /sys/fs/cgroup/<name> or
# /sys/fs/cgroup/unified, and TestPs wants procps' `ps -ef` columns (the VM
# has busybox ps). Remove each name once its test knows the unified layout.
V1_ONLY_TESTS := ^(TestCgroupDeleteSharedParent|TestCgroupKillAllAfterInitExit|TestCgroupMissingController|TestCgroupEveryHierarchy|TestCgroupDeleteRemoves|TestCgroupKillAll|TestCgroupRelativePath|TestExecSubCgroup|TestPs)$$
SKIP   ?= $(V1_ONLY_TESTS)
VM_OUT ?= tests/vm/out
test-vm: hull
	CGO_ENABLED=0 $(GO) test -c -o $(VM_OUT)/hull.test ./tests/
	RUN='$(RUN)' SKIP='$(SKIP)' VM_OUT='$(VM_OUT)' tests/vm/vm.sh suite hull $(VM_OUT)/hull.test

# The start-up benchmark, side by side with runc and crun (root; never part
# of `make test`): interleaved rounds, a table, hull's ratios and the raw
# samples as JSON. QUICK=1: 20 rounds, about a minute on a quiet machine.
# More flags through BENCHFLAGS (`go run ./bench -help`).
bench: hull
	$(GO) run ./bench -hull ./hull $(if $(QUICK),-quick) $(BENCHFLAGS)

install: hull
	install -D -m 0755 hull $(DESTDIR)$(BINDIR)/hull

clean:
	rm -f hull
