#!/bin/sh
# container-lib.sh - shared by contrib/container-test.sh and
# contrib/kube-test.sh (sourced, not run): podman set up the way it works on
# a Debian 12 host without a Docker engine and without an image registry.
#
#   container_setup      install podman, runc, debootstrap (Debian packages);
#                        write $PLC_CACHE/containers.conf and storage.conf
#   container_base       make sure the base image the Dockerfile's FROM names
#                        (debian:12-slim) exists locally; sets BASE_REF to
#                        debian:12-slim@sha256:DIGEST of what was imported
#   container_image TAG  podman build docker/Dockerfile as TAG (docker
#                        format: OCI drops HEALTHCHECK), FROM pinned to
#                        BASE_REF
#
# Everything cached lives in $PLC_CACHE (default
# /var/cache/peerlock-container), outside the clone:
#   rootfs/bookworm.tar   the debootstrap'd base, as a reproducible tar
#   containers.conf       runc, cgroupfs, ulimits within the host's limits
#   storage.conf, storage/  podman's image store (layer cache of the build)
#
# Why each setting (docs/packaging.md, "Container image, tested"):
#   runtime runc          crun refuses this host's hybrid cgroup layout
#   cgroup_manager        cgroupfs: no systemd as PID 1 on CI machines
#   default_ulimits       podman's default (1048576) is above the host's hard
#                         limit and root here lacks CAP_SYS_RESOURCE
#   events_logger file    no journald

PLC_CACHE=${PLC_CACHE:-/var/cache/peerlock-container}
PLC_SUITE=bookworm
PLC_BASE_NAME=docker.io/library/debian:12-slim

plc_say() { printf 'container: %s\n' "$*" >&2; }

# plc_apt PKG...: install what is missing (Debian packages only).
plc_apt() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "ok installed" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	plc_say "apt-get install$missing"
	apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $missing >/dev/null
}

container_setup() {
	plc_apt podman runc debootstrap netavark aardvark-dns uidmap \
	    ca-certificates
	mkdir -p "$PLC_CACHE"
	# The hard limits of this shell (dash has no ulimit -u).
	nofile=$(awk '/^Max open files/ { print $5 }' /proc/self/limits)
	nproc=$(awk '/^Max processes/ { print $4 }' /proc/self/limits)
	[ "$nofile" = unlimited ] && nofile=65536
	[ "$nofile" -gt 65536 ] && nofile=65536
	[ "$nproc" = unlimited ] && nproc=4096
	[ "$nproc" -gt 4096 ] && nproc=4096
	cat >"$PLC_CACHE/containers.conf" <<EOF
# written by contrib/container-lib.sh
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
EOF
	# Kernel overlayfs (root: no fuse-overlayfs needed).
	cat >"$PLC_CACHE/storage.conf" <<EOF
# written by contrib/container-lib.sh
[storage]
driver = "overlay"
graphroot = "$PLC_CACHE/storage"
runroot = "$PLC_CACHE/run"
EOF
	export CONTAINERS_CONF="$PLC_CACHE/containers.conf"
	export CONTAINERS_STORAGE_CONF="$PLC_CACHE/storage.conf"
	podman info >/dev/null
}

# The base image: debootstrap --variant=minbase, the host's apt sources
# and configuration inside (no other mirror is reachable), the paths
# Debian's -slim images leave out excluded, packed as a tar with sorted
# names, fixed times and numeric owners, imported under the name FROM uses.
container_base() {
	tar=$PLC_CACHE/rootfs/$PLC_SUITE.tar
	if [ ! -s "$tar" ] || [ -n "${PEERLOCK_BASE_REFRESH:-}" ]; then
		plc_rootfs "$tar"
	fi
	want=$(sha256sum "$tar" | cut -d' ' -f1)
	have=$(podman image inspect --format '{{index .Labels "peerlock.rootfs"}}' \
	    "$PLC_BASE_NAME" 2>/dev/null || true)
	if [ "$have" != "$want" ]; then
		plc_say "podman import $tar as $PLC_BASE_NAME"
		podman import --quiet --change 'CMD ["bash"]' \
		    --change "LABEL peerlock.rootfs=$want" \
		    "$tar" "$PLC_BASE_NAME" >/dev/null
	fi
	digest=$(podman image inspect --format '{{.Digest}}' "$PLC_BASE_NAME")
	BASE_REF="$PLC_BASE_NAME@$digest"
	plc_say "base $BASE_REF (rootfs sha256 $want)"
}

plc_rootfs() {
	out=$1
	root=$PLC_CACHE/rootfs/$PLC_SUITE.tmp
	rm -rf "$root"
	mkdir -p "$root"
	mirror=$(sed -n 's/^URIs:[[:space:]]*//p' \
	    /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
	mirror=${mirror:-http://deb.debian.org/debian}
	plc_say "debootstrap --variant=minbase $PLC_SUITE from $mirror"
	debootstrap --variant=minbase "$PLC_SUITE" "$root" "$mirror" \
	    >"$PLC_CACHE/rootfs/debootstrap.log" 2>&1 || {
		tail -n 30 "$PLC_CACHE/rootfs/debootstrap.log" >&2
		return 1
	}
	# Apt as on the host (the same mirrors, proxies and options).
	rm -f "$root/etc/apt/sources.list"
	mkdir -p "$root/etc/apt/sources.list.d" "$root/etc/apt/apt.conf.d"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
	    /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		cp "$f" "$root${f}"
	done
	for f in /etc/apt/apt.conf.d/*; do
		[ -f "$f" ] && cp "$f" "$root/etc/apt/apt.conf.d/"
	done
	# What Debian's -slim images exclude (docs, man pages, locales),
	# for later installs and for what debootstrap already unpacked.
	mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
	cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
	find "$root/usr/share/doc" -mindepth 1 ! -name copyright \
	    ! -type d -delete
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
	rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* \
	    "$root/usr/share/groff/"* "$root/usr/share/lintian/"*
	find "$root/usr/share/locale" -mindepth 1 ! -name locale.alias -delete
	rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin \
	    "$root/var/cache/apt/archives/"*.deb "$root/var/log/"* \
	    "$root/debootstrap" "$root/etc/machine-id" \
	    "$root/etc/hostname" "$root/etc/resolv.conf"
	: >"$root/etc/machine-id"
	tar --sort=name --numeric-owner --mtime='2025-05-20 00:00:00Z' \
	    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
	    -C "$root" -cf "$out.tmp" . && mv -f "$out.tmp" "$out"
	rm -rf "$root"
	plc_say "rootfs $(du -h "$out" | cut -f1) $out"
}

# container_image TAG: build the image; the layer cache lives in
# $PLC_CACHE/storage, so unchanged stages (install-deps, wolfSSL) are reused.
container_image() {
	podman build --format docker --pull=never \
	    --ignorefile docker/Dockerfile.dockerignore \
	    --build-arg "DEBIAN=$BASE_REF" \
	    -f docker/Dockerfile -t "$1" .
}
