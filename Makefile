GO       ?= go
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/sbin
COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null)
# The binary is linked statically: no dynamic loader work on every command,
# and it runs unchanged in the cgroup v2 test VM.
LDFLAGS  := -X main.gitCommit=$(COMMIT) -linkmode external -extldflags -static
TAGS     := netgo osusergo
SOURCES  := $(shell find . -path ./tests -prune -o \( -name '*.go' -o -name '*.c' \) -print) go.mod go.sum

.PHONY: all test unit integration install clean

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

install: hull
	install -D -m 0755 hull $(DESTDIR)$(BINDIR)/hull

clean:
	rm -f hull
