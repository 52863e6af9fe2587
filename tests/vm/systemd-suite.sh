#!/bin/bash
# The payload's run script for `systemd.sh suite` (in the VM as
# /payload/run, under payload.service): check that the VM is the host the
# driver's tests are meant to meet — systemd as PID 1, with the cgroup
# layout of the mode (the file mode: unified, hybrid or legacy) — then run the
# integration test binary against the hull binary beside it. go-test.run
# and go-test.timeout (written by systemd.sh) hold go test's flags.
set -u

mode=$(cat mode)
smoke() {
	echo "smoke: $(systemctl --version | head -n 1); pid 1 is $(cat /proc/1/comm); mode $mode"
	[ "$(cat /proc/1/comm)" = systemd ] || { echo "smoke: PID 1 is not systemd"; return 1; }
	[ -d /run/systemd/system ] || { echo "smoke: no /run/systemd/system"; return 1; }
	grep -E ' /sys/fs/cgroup' /proc/self/mountinfo | awk '{ print "smoke: mount", $5, $(NF-2) }'
	case $mode in
	unified)
		[ -f /sys/fs/cgroup/cgroup.controllers ] || { echo "smoke: /sys/fs/cgroup is not cgroup2"; return 1; }
		echo "smoke: root cgroup.subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
		;;
	hybrid)
		[ -d /sys/fs/cgroup/memory ] || { echo "smoke: no v1 memory hierarchy"; return 1; }
		grep -q ' /sys/fs/cgroup/unified .* cgroup2 ' /proc/self/mountinfo || { echo "smoke: no cgroup2 at /sys/fs/cgroup/unified"; return 1; }
		;;
	legacy)
		[ -d /sys/fs/cgroup/memory ] || { echo "smoke: no v1 memory hierarchy"; return 1; }
		! grep -q ' - cgroup2 ' /proc/self/mountinfo || { echo "smoke: a cgroup2 hierarchy is mounted"; return 1; }
		;;
	esac
	echo "smoke: own cgroup: $(tr '\n' ' ' </proc/self/cgroup)"
}
smoke || exit 3

# Every cgroup directory now, to find the suite's leftovers after it.
find /sys/fs/cgroup -type d | sort >/tmp/cgroups.before

set -- -test.v -test.timeout "$(cat go-test.timeout)" -test.run "$(cat go-test.run)"
echo "suite: ./hull.test $*"
# A private mount namespace, as `make integration` gives the suite.
HULL_RUNTIME=/payload/hull unshare -m --propagation private ./hull.test "$@"
rc=$?

# Every hull unit in the VM is the suite's: one still there, even failed,
# is a leak. Reported here; the tests judge their own.
left=$(systemctl list-units --all --no-legend --plain 'hull*' '*hulltest*' 2>/dev/null)
[ -z "$left" ] || printf 'suite: WARNING: units left after the suite:\n%s\n' "$left"
# The slices the tests made are theirs to stop (and systemd removes their
# cgroups); anything else new is a leak.
new=$(find /sys/fs/cgroup -type d | sort | comm -13 /tmp/cgroups.before -)
[ -z "$new" ] || printf 'suite: WARNING: cgroups left after the suite:\n%s\n' "$new"
exit $rc
