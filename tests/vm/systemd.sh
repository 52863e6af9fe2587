#!/usr/bin/env bash
# The systemd test VM (issue 14). hull's systemd cgroup driver needs a host
# whose PID 1 is systemd, which this machine is not. This VM boots Debian's
# own kernel (the one vm.sh fetches) into a minbase Debian bookworm with
# systemd and dbus (debootstrap from the machine's Debian archive) on an
# ext4 disk image, systemd as PID 1, and runs the payload as a oneshot
# unit; its exit status comes back on the second serial port. Nothing is
# installed on the host; no KVM is needed (software emulation), root is
# (debootstrap, and the image holds root-owned files).
#
# usage: systemd.sh image                        build the disk image and initramfs (cached), print the image
#        systemd.sh boot DIR [MODE]              boot with DIR as /payload, run /payload/run
#        systemd.sh suite HULL TESTBINARY        run the driver's tests (go test -c ./tests/) in each mode
#
# Modes (MODE): unified boots with cgroup_no_v1=all
# systemd.unified_cgroup_hierarchy=1 (cgroup v2 only); hybrid with
# systemd.unified_cgroup_hierarchy=0, where systemd 252 mounts the v1
# controllers plus a cgroup2 tree of its own at /sys/fs/cgroup/unified;
# legacy adds systemd.legacy_systemd_cgroup_controller=1: v1 only, systemd
# tracking its units in the name=systemd hierarchy.
#
# Environment:
#   RUN            go test -run regexp (default ^TestSystemd)
#   MODES          modes for `suite` (default "unified hybrid legacy")
#   VM_OUT         logs (default tests/vm/out-systemd; one dir per mode):
#                  console.log (the whole console), payload.log (the
#                  payload's output)
#   VM_TIMEOUT     seconds for one VM run (default 900)
#   VM_MEM, VM_SMP guest memory (MiB, 1024) and CPUs (2)
#   HULL_VM_CACHE  cache dir (see vm.sh); the debootstrap tree, the image
#                  and the modules are kept there
# Exit status: the payload's (suite: the first failing mode's); 124 the VM
# timed out; 125 no result came back; 2 a usage or setup error.
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "$0")" && pwd)
: "${VM_OUT:=$here/out-systemd}" "${VM_TIMEOUT:=900}" "${VM_MEM:=1024}" "${VM_SMP:=2}"
: "${RUN:=^TestSystemd}" "${MODES:=unified hybrid legacy}"

# What the guest is made of. busybox-static: the tests' container root
# filesystems; the rest: systemd as PID 1 with D-Bus. LATER_PACKAGES are
# installed with apt in the tree once debootstrap is done (debootstrap's
# single configure pass fails on podman's golang-github-containers-common):
# podman, to drive hull through conmon with its systemd cgroup manager.
SUITE=bookworm
PACKAGES=systemd,systemd-sysv,dbus,busybox-static
LATER_PACKAGES=podman
# The root-disk chain, all modules in Debian's kernel (crc32c_generic: ext4
# asks the crypto API for "crc32c").
MODULES="virtio_pci virtio_blk crc32c_generic ext4"

die() {
	echo "systemd.sh: $*" >&2
	exit 2
}

log() { echo "systemd.sh: $*" >&2; }

tmpdirs=()
trap 'rm -rf "${tmpdirs[@]}"' EXIT
trap 'log interrupted; exit 130' INT TERM

# Set by the steps (globals: a function called in an || list runs without
# errexit): the kernel's cache dir, the cache root, the modules dir, the
# disk image, the initramfs, the VM's exit status.
kdir='' root='' mdir='' tree='' image='' initrd='' vm_rc=''

need_tools() {
	local missing=() t
	for t in debootstrap:debootstrap mke2fs:e2fsprogs cpio:cpio; do
		command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
	done
	[ ${#missing[@]} = 0 ] || die "missing tools: apt-get install -y --no-install-recommends ${missing[*]}"
	[ "$(id -u)" = 0 ] || die "needs root: debootstrap, and an image of root-owned files"
}

must_be_static() {
	[ -x "$1" ] || die "$1: no such executable"
	if ldd "$1" >/dev/null 2>&1; then
		die "$1 is dynamically linked; build it statically"
	fi
}

stamp() { cat "$@" | sha256sum | cut -c1-16; }

# kernel sets kdir (vmlinux, vmlinuz) through vm.sh, which keys it by the
# kernel package's .deb, and root to the cache dir holding it.
kernel() {
	kdir=$("$here/vm.sh" kernel) || die "vm.sh kernel failed"
	root=$(dirname "$kdir")
}

# modules sets mdir to the kernel's modules the VM's initramfs loads, with
# their dependencies resolved (modules.dep by busybox depmod: the .deb has
# none, and kmod is not needed on the host). vm.sh keeps only /boot of the
# .deb, so the package is downloaded again, once per kernel.
modules() {
	local deb pkg tmp kver
	mdir=$kdir/modules
	[ -s "$mdir/load" ] && return
	deb=$(basename "$kdir").deb
	pkg=${deb%%_*}
	log "extracting the root-disk modules of $deb into $mdir"
	tmp=$(mktemp -d "$kdir/.modules.XXXXXX")
	tmpdirs+=("$tmp")
	chmod 755 "$tmp" && chown _apt "$tmp" 2>/dev/null || true
	(cd "$tmp" && apt-get download -q "$pkg" >/dev/null) || die "apt-get download $pkg failed"
	[ -s "$tmp/$deb" ] || die "apt-get download $pkg did not give $deb (apt's candidate changed? run vm.sh kernel again)"
	mkdir "$tmp/x"
	dpkg-deb --fsys-tarfile "$tmp/$deb" | tar -x -C "$tmp/x" --wildcards \
		'./lib/modules/*/modules.order' './lib/modules/*/modules.builtin' './lib/modules/*/modules.builtin.modinfo' \
		'./lib/modules/*/kernel/drivers/virtio/*' './lib/modules/*/kernel/drivers/block/virtio_blk.ko*' \
		'./lib/modules/*/kernel/fs/ext4/*' './lib/modules/*/kernel/fs/jbd2/*' './lib/modules/*/kernel/fs/mbcache.ko*' \
		'./lib/modules/*/kernel/lib/*' './lib/modules/*/kernel/crypto/*'
	kver=$(ls "$tmp/x/lib/modules")
	busybox depmod -b "$tmp/x" "$kver"
	# The load order: each module after what it depends on.
	local m
	for m in $MODULES; do moddeps "$tmp/x/lib/modules/$kver" "$m"; done | awk '!seen[$0]++' >"$tmp/x/load"
	mkdir "$tmp/m"
	while read -r m; do cp "$tmp/x/lib/modules/$kver/$m" "$tmp/m/"; done <"$tmp/x/load"
	sed 's,.*/,,' "$tmp/x/load" >"$tmp/m/load"
	rm -rf "$mdir"
	mv "$tmp/m" "$mdir"
}

# moddeps prints module $2's file and its dependencies' (relative to the
# modules dir $1), dependencies first.
moddeps() {
	local line d
	line=$(grep -E "(^|/)$2\.ko(\.xz)?:" "$1/modules.dep") || die "no module $2 in $1"
	for d in ${line#*:}; do
		d=${d##*/}
		moddeps "$1" "${d%%.ko*}"
	done
	echo "${line%%:*}"
}

# mirror is the machine's configured Debian archive for $SUITE (apt's
# sources), else debootstrap's default.
mirror() {
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' 2>/dev/null |
		awk -v s="$SUITE" '$2 == s && $3 == "main" { print $1; exit }'
}

# debootstrap_tree sets tree to a cached debootstrap of the guest, made once per
# package list (60-120 s).
debootstrap_tree() {
	local key tmp m
	key=$(echo "$SUITE minbase $PACKAGES $LATER_PACKAGES" | sha256sum | cut -c1-12)
	tree=$root/debian-$SUITE-$key
	[ -e "$tree/.complete" ] && return
	m=$(mirror)
	log "debootstrap --variant=minbase --include=$PACKAGES $SUITE ${m:-(default mirror)} into $tree"
	tmp=$(mktemp -d "$root/.debootstrap.XXXXXX")
	tmpdirs+=("$tmp")
	debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tmp" ${m:+"$m"} >"$tmp.log" 2>&1 ||
		{ tail -n 20 "$tmp.log" >&2; rm -f "$tmp.log"; die "debootstrap failed"; }
	if [ -n "$LATER_PACKAGES" ]; then
		log "apt-get install $LATER_PACKAGES in the tree"
		{ chroot "$tmp" apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive chroot "$tmp" apt-get install -y -qq --no-install-recommends $LATER_PACKAGES; } >"$tmp.log" 2>&1 ||
			{ tail -n 20 "$tmp.log" >&2; rm -f "$tmp.log"; die "apt-get install $LATER_PACKAGES in the tree failed"; }
	fi
	rm -f "$tmp.log"
	rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
	touch "$tmp/.complete"
	find "$root" -mindepth 1 -maxdepth 1 -name "debian-$SUITE-*" ! -name "${tree##*/}" -exec rm -rf {} +
	mv -T "$tmp" "$tree" 2>/dev/null || [ -e "$tree/.complete" ] || die "cannot make $tree"
}

# configure makes the copy of the tree at $1 boot straight into the
# payload: systemd as PID 1, no getty, no timers, no udev, none of the
# early units that cost seconds under emulation; payload.service runs
# /payload/run and powers the machine off.
configure() {
	local r=$1 g
	echo systemd-vm >"$r/etc/hostname"
	: >"$r/etc/fstab" # the initramfs mounts the root read-write
	chroot "$r" systemd-machine-id-setup >/dev/null
	mkdir -p "$r/etc/systemd/journald.conf.d"
	printf '[Journal]\nStorage=volatile\n' >"$r/etc/systemd/journald.conf.d/volatile.conf"
	install -m 0755 "$here/systemd-payload" "$r/usr/local/sbin/payload"
	install -m 0644 "$here/payload.service" "$r/etc/systemd/system/payload.service"
	chroot "$r" systemctl enable payload.service >/dev/null 2>&1
	chroot "$r" systemctl set-default multi-user.target >/dev/null 2>&1
	chroot "$r" systemctl mask >/dev/null 2>&1 \
		getty.target serial-getty@ttyS0.service getty@tty1.service console-getty.service \
		timers.target apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
		systemd-tmpfiles-clean.timer e2scrub_all.timer fstrim.timer e2scrub_reap.service \
		systemd-journal-flush.service systemd-udev-settle.service systemd-firstboot.service \
		systemd-random-seed.service systemd-update-utmp.service systemd-update-utmp-runlevel.service \
		systemd-logind.service systemd-user-sessions.service systemd-pstore.service \
		systemd-timesyncd.service systemd-networkd.service systemd-hwdb-update.service ldconfig.service \
		sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount sys-kernel-config.mount \
		sys-fs-fuse-connections.mount systemd-sysusers.service systemd-modules-load.service \
		systemd-sysctl.service modprobe@.service systemd-remount-fs.service dev-mqueue.mount \
		systemd-tmpfiles-setup-dev.service kmod-static-nodes.service systemd-binfmt.service \
		proc-sys-fs-binfmt_misc.automount systemd-ask-password-console.path \
		systemd-ask-password-wall.path systemd-machine-id-commit.service systemd-repart.service \
		systemd-pcrphase.service systemd-pcrphase-sysinit.service \
		systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
		systemd-udev-trigger.service \
		podman.service podman.socket podman-restart.service podman-auto-update.service \
		podman-auto-update.timer podman-clean-transient.service || true
	# No generator is needed: the fstab is empty, gettys are masked.
	mkdir -p "$r/etc/systemd/system-generators"
	for g in "$r"/usr/lib/systemd/system-generators/*; do
		ln -sf /dev/null "$r/etc/systemd/system-generators/${g##*/}"
	done
}

# build_image sets image to the cached ext4 disk, made from a copy of the
# tree with mke2fs -d (no loop mount), and initrd to the cached base
# initramfs (busybox, the modules, systemd-init).
build_image() {
	local key s tmp a
	need_tools
	kernel
	modules
	debootstrap_tree
	key=$(echo "${tree##*/}" | cat - "$0" "$here/systemd-payload" "$here/payload.service" | sha256sum | cut -c1-16)
	image=$root/systemd-vm-$key.img
	if [ ! -s "$image" ]; then
		log "making $image"
		tmp=$(mktemp -d "$root/.image.XXXXXX")
		tmpdirs+=("$tmp")
		cp -a "$tree" "$tmp/r"
		rm -f "$tmp/r/.complete"
		configure "$tmp/r"
		mke2fs -q -t ext4 -L hull-vm -d "$tmp/r" "$tmp/img" 2G >/dev/null
		find "$root" -mindepth 1 -maxdepth 1 -name 'systemd-vm-*.img' -delete
		mv "$tmp/img" "$image"
	fi
	s=$(stamp /bin/busybox "$here/systemd-init" "$mdir/load")
	initrd=$kdir/systemd-init-$s.cpio.gz
	[ -s "$initrd" ] && return
	tmp=$(mktemp -d)
	tmpdirs+=("$tmp")
	mkdir -p "$tmp"/{bin,etc,lib/modules,proc,sys,dev,newroot,payload}
	cp /bin/busybox "$tmp/bin/busybox"
	for a in sh mount umount insmod switch_root sleep cp mkdir rm cat cut echo poweroff; do
		ln -s busybox "$tmp/bin/$a"
	done
	cp "$mdir"/*.ko* "$tmp/lib/modules/"
	cp "$mdir/load" "$tmp/etc/modules"
	install -m 0755 "$here/systemd-init" "$tmp/init"
	(cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6) >"$initrd.tmp"
	truncate -s %4 "$initrd.tmp" # the payload cpio appended must start 4-byte aligned
	rm -f "$kdir"/systemd-init-*.cpio.gz
	mv "$initrd.tmp" "$initrd"
}

# boot runs the VM in mode $2 with payload dir $1 as /payload and sets
# vm_rc; the console streams to stdout, the logs go to $3.
boot() {
	local payload=$1 mode=$2 out=$3 kernel args work qrc=0
	[ -x "$payload/run" ] || die "$payload/run: not executable"
	case $mode in
	unified) args="cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1" ;;
	hybrid) args="systemd.unified_cgroup_hierarchy=0" ;;
	legacy) args="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1" ;;
	*) die "mode $mode: unified, hybrid or legacy" ;;
	esac
	build_image
	kernel=$kdir/vmlinux
	[ -s "$kernel" ] || kernel=$kdir/vmlinuz
	mkdir -p "$out"
	rm -f "$out/console.log" "$out/ttyS1.log" "$out/payload.log"
	work=$(mktemp -d)
	tmpdirs+=("$work")
	mkdir "$work/payload" && cp -a "$payload/." "$work/payload/"
	echo "$mode" >"$work/payload/mode"
	{ cat "$initrd"; (cd "$work" && find payload | cpio -o -H newc -R 0:0 --quiet); } >"$work/initrd"
	log "booting ($mode): $args"
	# snapshot=on: the guest's writes go to a temporary overlay, the
	# cached image never changes (and concurrent runs may share it).
	timeout --foreground -k 10 "$VM_TIMEOUT" qemu-system-x86_64 \
		-nodefaults -no-user-config -display none -no-reboot \
		-m "$VM_MEM" -smp "$VM_SMP" -cpu max \
		-chardev "stdio,id=console,logfile=$out/console.log" -serial chardev:console \
		-serial "file:$out/ttyS1.log" \
		-drive "file=$image,if=virtio,format=raw,snapshot=on" \
		-kernel "$kernel" -initrd "$work/initrd" \
		-append "console=ttyS0 panic=-1 quiet $args" </dev/null || qrc=$?
	touch "$out/ttyS1.log"
	tr -d '\r' <"$out/ttyS1.log" | grep -v '^VMRESULT rc=' >"$out/payload.log" || true
	vm_rc=$(tr -d '\r' <"$out/ttyS1.log" | sed -n 's/^VMRESULT rc=\([0-9]*\).*/\1/p' | tail -n 1)
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		log "the VM did not finish within VM_TIMEOUT=${VM_TIMEOUT}s; console: $out/console.log"
		vm_rc=124
	elif [ -z "$vm_rc" ]; then
		log "no result from the VM (qemu exit status $qrc); console: $out/console.log"
		vm_rc=125
	fi
}

summary() {
	local mode=$1 log=$2 pass fail skip
	pass=$(grep -c '^--- PASS' "$log" || true)
	fail=$(grep -c '^--- FAIL' "$log" || true)
	skip=$(grep -c '^--- SKIP' "$log" || true)
	echo "=== systemd VM ($mode) summary (top-level tests): $pass passed, $fail failed, $skip skipped; log: $log"
	grep -E '^ *--- (FAIL|SKIP)' "$log" || true
}

# suite runs the test binary against the hull binary in each mode.
suite() {
	local hull=$1 tests=$2 p mode rc=0 t0
	must_be_static "$hull"
	must_be_static "$tests"
	p=$(mktemp -d)
	tmpdirs+=("$p")
	cp "$hull" "$p/hull"
	cp "$tests" "$p/hull.test"
	install -m 0755 "$here/systemd-suite.sh" "$p/run"
	printf '%s' "$RUN" >"$p/go-test.run"
	printf '%ss' $((VM_TIMEOUT > 240 ? VM_TIMEOUT - 120 : VM_TIMEOUT / 2)) >"$p/go-test.timeout"
	for mode in $MODES; do
		t0=$(date +%s)
		boot "$p" "$mode" "$VM_OUT/$mode"
		log "$mode: exit status $vm_rc after $(($(date +%s) - t0)) s"
		[ ! -s "$VM_OUT/$mode/payload.log" ] || summary "$mode" "$VM_OUT/$mode/payload.log"
		[ "$rc" != 0 ] || rc=$vm_rc
	done
	vm_rc=$rc
}

usage() {
	sed -n '/^# usage:/,/^#  *systemd.sh suite/p' "$0" >&2
	exit 2
}

case ${1:-} in
image)
	build_image
	echo "$image"
	;;
boot)
	[ $# = 2 ] || [ $# = 3 ] || usage
	boot "$2" "${3:-unified}" "$VM_OUT/${3:-unified}"
	exit "$vm_rc"
	;;
suite)
	[ $# = 3 ] || usage
	suite "$2" "$3"
	exit "$vm_rc"
	;;
*) usage ;;
esac
