#!/usr/bin/env bash
# The cgroup v2 test VM (design §8). This host's cgroups are v1/hybrid and
# not ours to change, so hull's v2 code is tested in a qemu VM that boots
# Debian's own kernel with cgroup_no_v1=all: one cgroup2 hierarchy with every
# controller. Nothing is installed on the host: the kernel is cut out of its
# .deb into a cache, and the guest is an initramfs (busybox-static, init,
# payload) living in RAM. No KVM or root is needed (software emulation).
#
# usage: vm.sh kernel                  fetch the kernel into the cache, print its dir
#        vm.sh boot DIR                boot with DIR as /payload, run /payload/run
#        vm.sh suite HULL TESTBINARY V2TEST
#                                      run the integration suite (go test -c
#                                      ./tests/) and the cgroup v2 manager's
#                                      kernel test (go test -c
#                                      ./libcontainer/cgroups/v2)
#
# Environment:
#   RUN, SKIP      go test -run / -skip regexps for `suite`
#   VM_OUT         logs and results (default tests/vm/out): console.log (the
#                  whole console), payload.log (the payload's output, clean)
#   VM_TIMEOUT     seconds for the whole VM run (default 1800); the suite's
#                  own -test.timeout is 120 s shorter, so a hang shows stacks
#   VM_MEM, VM_SMP guest memory (MiB, 2048) and CPUs (2)
#   HULL_VM_CACHE  cache dir (default $XDG_CACHE_HOME/hull-vm, else
#                  /var/cache/hull-vm as root, else ~/.cache/hull-vm)
# Exit status: the payload's; 124 the VM timed out; 125 no result came back
# (a guest panic); 2 a usage or setup error.
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "$0")" && pwd)
: "${VM_OUT:=$here/out}" "${VM_TIMEOUT:=1800}" "${VM_MEM:=2048}" "${VM_SMP:=2}"
: "${RUN:=}" "${SKIP:=}"

die() {
	echo "vm.sh: $*" >&2
	exit 2
}

log() { echo "vm.sh: $*" >&2; }

# Set by fetch_kernel and base_initramfs: the kernel's cache dir and the
# base initramfs in it; by boot: the VM's exit status. (Globals, not return
# values: a function called in an || list would run without errexit.)
kdir='' base='' vm_rc=''

# Temporary dirs of this run, removed when it ends however it ends.
tmpdirs=()
trap 'rm -rf "${tmpdirs[@]}"' EXIT
# qemu exits 0 on ^C: stop here, not read its silence as a guest crash.
trap 'log interrupted; exit 130' INT TERM

cache_root() {
	if [ -n "${HULL_VM_CACHE:-}" ]; then
		echo "$HULL_VM_CACHE"
	elif [ -n "${XDG_CACHE_HOME:-}" ]; then
		echo "$XDG_CACHE_HOME/hull-vm"
	elif [ "$(id -u)" = 0 ]; then
		echo /var/cache/hull-vm
	else
		echo "$HOME/.cache/hull-vm"
	fi
}

# need_tools names the apt packages to install rather than installing them:
# CI (.ci/run) installs them; a developer's machine is theirs.
need_tools() {
	local missing=() t
	for t in qemu-system-x86_64:qemu-system-x86 cpio:cpio xz:xz-utils apt-get:apt dpkg-deb:dpkg; do
		command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
	done
	[ -x /bin/busybox ] || missing+=(busybox-static)
	[ ${#missing[@]} = 0 ] || die "missing tools: apt-get install -y --no-install-recommends ${missing[*]}"
}

# must_be_static refuses a dynamically linked binary: the guest has no libc.
must_be_static() {
	[ -x "$1" ] || die "$1: no such executable"
	if ldd "$1" >/dev/null 2>&1; then
		die "$1 is dynamically linked; the VM has no libc (build it statically)"
	fi
}

# kernel_deb prints the file name of the kernel package .deb that
# linux-image-amd64 depends on today (it changes with security updates,
# hence the cache key), and its package name.
kernel_deb() {
	local pkg uri file
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || die "apt knows no linux-image-amd64 (run apt-get update)"
	uri=$(apt-get download --print-uris "$pkg") || die "apt-get download --print-uris $pkg failed"
	read -r _ file _ <<<"$uri" # 'URL' FILE SIZE HASH
	[ -n "$file" ] || die "apt-get download --print-uris $pkg: no file name in '$uri'"
	echo "$file $pkg"
}

# fetch_kernel makes (once per kernel .deb) a cache dir holding vmlinuz, its
# config and an uncompressed vmlinux, and sets kdir to it. The package is
# downloaded, never installed: the host's /boot and modules are untouched.
fetch_kernel() {
	local root info deb pkg dir tmp z off
	root=$(cache_root)
	info=$(kernel_deb)
	read -r deb pkg <<<"$info"
	dir=$root/${deb%.deb}
	kdir=$dir
	if [ -s "$dir/vmlinuz" ]; then
		return
	fi
	log "fetching $deb into $dir"
	mkdir -p "$root"
	tmp=$(mktemp -d "$root/.fetch.XXXXXX")
	tmpdirs+=("$tmp")
	# apt's download sandbox user must be able to write the file.
	chmod 755 "$tmp" && { [ "$(id -u)" != 0 ] || chown _apt "$tmp" 2>/dev/null || true; }
	(cd "$tmp" && apt-get download -q "$pkg" >/dev/null) || die "apt-get download $pkg failed"
	# Only /boot: the modules (400 MB) are not needed, everything the tests
	# use is built in (CGROUPS, MEMCG, CPUSETS, BPF, namespaces, devtmpfs).
	mkdir "$tmp/x"
	dpkg-deb --fsys-tarfile "$tmp/$deb" | tar -x -C "$tmp/x" ./boot
	mv "$tmp"/x/boot/vmlinuz-* "$tmp/vmlinuz"
	mv "$tmp"/x/boot/config-* "$tmp/config"
	# qemu boots an ELF vmlinux through its PVH entry, which saves the ~3 s
	# that emulation spends decompressing a bzImage at every boot.
	# The payload is xz (CONFIG_KERNEL_XZ); a failed cut just boots vmlinuz.
	z=$tmp/vmlinuz
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$z" | head -n 1 | cut -d: -f1 || true)
	# (xz stops at the stream's end: tail must not be in a pipefail pipeline.)
	if [ -n "$off" ] && xz -dcq --single-stream <(tail -c +$((off + 1)) "$z") >"$tmp/vmlinux" 2>/dev/null &&
		[ "$(head -c 4 "$tmp/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		:
	else
		log "no ELF vmlinux in $deb; booting the compressed kernel"
		rm -f "$tmp/vmlinux"
	fi
	rm -rf "${tmp:?}/x" "${tmp:?}/$deb"
	chown "$(id -u):$(id -g)" "$tmp"
	# Older kernels' dirs are ours and only the newest is ever used.
	find "$root" -mindepth 1 -maxdepth 1 -name 'linux-image-*' ! -name "${deb%.deb}" -exec rm -rf {} +
	# A concurrent run may have made it meanwhile: then keep that one.
	mv -T "$tmp" "$dir" 2>/dev/null || [ -s "$dir/vmlinuz" ] || die "cannot make $dir"
}

# base_initramfs sets base to the cached base initramfs of the kernel in
# kdir (busybox, its applets, /etc, init), rebuilt when busybox, init or this
# script change.
base_initramfs() {
	local stamp out r a
	stamp=$(cat /bin/busybox "$here/init" "$here/vm.sh" | sha256sum | cut -c1-16)
	out=$kdir/base-$stamp.cpio.gz
	base=$out
	if [ -s "$out" ]; then
		return
	fi
	must_be_static /bin/busybox
	r=$(mktemp -d)
	tmpdirs+=("$r")
	mkdir -p "$r"/{bin,etc,root,proc,sys,dev,tmp,run,newroot,payload}
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\ntty:x:5:\n' >"$r/etc/group"
	install -m 0755 "$here/init" "$r/init"
	(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6) >"$out.tmp"
	# The payload is appended as a second archive, which must start 4-byte
	# aligned.
	truncate -s %4 "$out.tmp"
	rm -f "$kdir"/base-*.cpio.gz
	mv "$out.tmp" "$out"
}

# boot runs the VM with payload dir $1 as /payload and sets vm_rc to
# /payload/run's exit status (124, 125: see above). The console streams to
# stdout.
boot() {
	local payload=$1 kernel work qrc=0
	[ -x "$payload/run" ] || die "$payload/run: not executable"
	need_tools
	fetch_kernel
	base_initramfs
	kernel=$kdir/vmlinux
	[ -s "$kernel" ] || kernel=$kdir/vmlinuz
	mkdir -p "$VM_OUT"
	rm -f "$VM_OUT/console.log" "$VM_OUT/ttyS1.log" "$VM_OUT/payload.log"
	work=$(mktemp -d)
	tmpdirs+=("$work")
	mkdir "$work/payload" && cp -a "$payload/." "$work/payload/"
	# Uncompressed: gzip costs the host more than the guest saves.
	{ cat "$base"; (cd "$work" && find payload | cpio -o -H newc -R 0:0 --quiet); } >"$work/initrd"
	# --foreground: qemu stays in our process group, so ^C stops it too.
	timeout --foreground -k 10 "$VM_TIMEOUT" qemu-system-x86_64 \
		-nodefaults -no-user-config -display none -no-reboot \
		-m "$VM_MEM" -smp "$VM_SMP" -cpu max \
		-chardev "stdio,id=console,logfile=$VM_OUT/console.log" -serial chardev:console \
		-serial "file:$VM_OUT/ttyS1.log" \
		-kernel "$kernel" -initrd "$work/initrd" \
		-append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet" </dev/null || qrc=$?
	touch "$VM_OUT/ttyS1.log" # qemu may not have started
	# The marker ends the port's output, maybe on the payload's last,
	# unterminated line.
	tr -d '\r' <"$VM_OUT/ttyS1.log" | sed '$ { s/VMRESULT rc=.*//; /^$/d }' >"$VM_OUT/payload.log"
	vm_rc=$(tr -d '\r' <"$VM_OUT/ttyS1.log" | sed -n '$ s/.*VMRESULT rc=\([0-9]*\).*/\1/p')
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		log "the VM did not finish within VM_TIMEOUT=${VM_TIMEOUT}s; console: $VM_OUT/console.log"
		vm_rc=124
	elif [ -z "$vm_rc" ]; then
		log "no result from the VM (qemu exit status $qrc; a guest panic?); console: $VM_OUT/console.log"
		vm_rc=125
	fi
}

# summary prints go test's verdicts from the payload's log: the failed
# tests and subtests, and the count of top-level tests (of both test
# binaries).
summary() {
	local log=$1 pass fail skip
	pass=$(grep -c '^--- PASS' "$log" || true)
	fail=$(grep -c '^--- FAIL' "$log" || true)
	skip=$(grep -c '^--- SKIP' "$log" || true)
	echo "=== VM suite summary (top-level tests): $pass passed, $fail failed, $skip skipped; log: $log"
	grep -E '^ *--- FAIL' "$log" || true
}

# suite runs the integration test binary in the VM against the hull binary,
# and the v2 manager's kernel test binary, all static.
suite() {
	local hull=$1 tests=$2 v2test=$3 p
	must_be_static "$hull"
	must_be_static "$tests"
	must_be_static "$v2test"
	p=$(mktemp -d)
	tmpdirs+=("$p")
	cp "$hull" "$p/hull"
	cp "$tests" "$p/hull.test"
	cp "$v2test" "$p/v2.test"
	install -m 0755 "$here/suite.sh" "$p/run"
	printf '%s' "$RUN" >"$p/go-test.run"
	printf '%s' "$SKIP" >"$p/go-test.skip"
	printf '%ss' $((VM_TIMEOUT > 240 ? VM_TIMEOUT - 120 : VM_TIMEOUT / 2)) >"$p/go-test.timeout"
	[ -z "$SKIP" ] || log "not run (SKIP): $SKIP"
	boot "$p"
	[ ! -s "$VM_OUT/payload.log" ] || summary "$VM_OUT/payload.log"
}

usage() {
	sed -n '/^# usage:/,/^#  *\.\/libcontainer/p' "$0" >&2
	exit 2
}

case ${1:-} in
kernel)
	need_tools
	fetch_kernel
	echo "$kdir"
	;;
boot)
	[ $# = 2 ] || usage
	boot "$2"
	exit "$vm_rc"
	;;
suite)
	[ $# = 4 ] || usage
	suite "$2" "$3" "$4"
	exit "$vm_rc"
	;;
*) usage ;;
esac
