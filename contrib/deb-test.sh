#!/bin/sh
# deb-test.sh - build the Debian package (debian/) and prove it in a fresh
# root: dpkg-buildpackage -us -uc -b on an export of the tracked files,
# lintian, then in a debootstrap chroot (minbase bookworm, the same cached
# tar as contrib/container-test.sh's base image) install it with dpkg -i,
# check the user, directories and modes, create an identity as the
# peerlock user, run peerlock check on the shipped config, systemd-analyze
# verify on the installed units, then remove and purge it and check that
# nothing is left.  Each check is PASS or FAIL; exit 0 only if all pass.
#
#   contrib/deb-test.sh            (as root; installs the build tools)
# Environment: PLC_CACHE (default /var/cache/peerlock-container): the
# rootfs tar and the chroot's downloaded .debs are kept there.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
# shellcheck source=contrib/container-lib.sh disable=SC1091
. "$top/contrib/container-lib.sh"

npass=0
nfail=0
ok() { npass=$((npass + 1)); echo "PASS: $*"; }
bad() { nfail=$((nfail + 1)); echo "FAIL: $*"; }
finish() {
	echo "deb: $npass passed, $nfail failed"
	[ "$nfail" -eq 0 ] && [ "$npass" -gt 0 ]
	exit $?
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/deb-test.XXXXXX")
root=$tmp/root
mounted=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	for m in $mounted; do umount -l "$m" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

t0=$(date +%s)
plc_apt debootstrap dpkg-dev debhelper lintian fakeroot \
    autoconf automake pkgconf libevent-dev libsodium-dev libprotobuf-c-dev \
    protobuf-c-compiler libwolfssl-dev libinih-dev check libjansson-dev ||
    { bad "build dependencies"; finish; }

# --- build ------------------------------------------------------------------
ver=$(dpkg-parsechangelog -l debian/changelog -S Version)
src=$tmp/peerlock-$ver
mkdir -p "$src"
git ls-files -z | tar --null -T - -cf - | tar -C "$src" -xf -
t1=$(date +%s)
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - t1)) s)"
else
	tail -n 40 "$tmp/build.log"
	bad "dpkg-buildpackage"
	finish
fi
deb=$(ls "$tmp"/peerlock_"$ver"_*.deb)
missing=""
dpkg-deb -c "$deb" >"$tmp/contents"
for f in ./usr/bin/peerlock ./usr/share/man/man8/peerlock.8.gz \
    ./usr/share/man/man5/peerlock.conf.5.gz ./etc/peerlock/peerlock.conf \
    ./usr/share/doc/peerlock/examples/peerlock.conf \
    ./lib/systemd/system/peerlock.service \
    ./lib/systemd/system/peerlock@.service \
    ./lib/systemd/system/peerlock.socket \
    ./usr/lib/sysusers.d/peerlock.conf ./var/lib/peerlock/; do
	grep -q " $f\$" "$tmp/contents" || missing="$missing $f"
done
if [ -z "$missing" ]; then
	ok "package holds binary, man pages, config, examples, units, sysusers"
else bad "package lacks$missing"; fi
deps=$(dpkg-deb -f "$deb" Depends)
echo "INFO: Depends: $deps"
case $deps in
*libwolfssl*) ok "linked to Debian's libwolfssl (security updates apply)" ;;
*) bad "Depends has no libwolfssl: $deps" ;;
esac

# Lintian: every tag that remains must be listed (and explained) in
# debian/lintian-expected, one "TAG  reason" a line.
lintian --no-tag-display-limit -i "$deb" >"$tmp/lintian" 2>&1
tags=$(sed -n 's/^[EWI]: peerlock[^:]*: \([^ ]*\).*/\1/p' "$tmp/lintian" |
    sort -u)
unexplained=""
for t in $tags; do
	grep -q "^${t}[[:space:]]" debian/lintian-expected 2>/dev/null ||
	    unexplained="$unexplained $t"
done
if [ -z "$unexplained" ]; then
	ok "lintian: no unexplained tags (${tags:-none})" | tr '\n' ' '
	echo
else
	grep -E "$(echo "$unexplained" | sed 's/^ //; s/ /|/g')" "$tmp/lintian"
	bad "lintian tags not in debian/lintian-expected:$unexplained"
fi

# --- a fresh root --------------------------------------------------------------
tar=$PLC_CACHE/rootfs/$PLC_SUITE.tar
mkdir -p "$PLC_CACHE/rootfs"
if [ ! -s "$tar" ]; then
	plc_rootfs "$tar" || { bad "debootstrap"; finish; }
fi
mkdir -p "$root"
tar -C "$root" -xf "$tar"
# Documentation is what this test checks: undo the slim image's excludes.
rm -f "$root/etc/dpkg/dpkg.cfg.d/slim"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$PLC_CACHE/deb-archives/partial" "$root/var/cache/apt/archives"
for m in proc sys dev; do
	mount --bind "/$m" "$root/$m" && mounted="$root/$m $mounted"
done
mount --bind "$PLC_CACHE/deb-archives" "$root/var/cache/apt/archives" &&
    mounted="$root/var/cache/apt/archives $mounted"
# No service may start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
in_root() { chroot "$root" "$@"; }
cp "$deb" "$root/tmp/"
b=${deb##*/}
if in_root apt-get -qq update && DEBIAN_FRONTEND=noninteractive \
    in_root apt-get -y -qq --no-install-recommends satisfy "$deps" systemd \
    >"$tmp/apt.log" 2>&1; then
	ok "runtime dependencies from apt: $deps (and systemd, for verify)"
else
	tail -n 20 "$tmp/apt.log"
	bad "apt-get satisfy $deps"
	finish
fi
if in_root dpkg -i "/tmp/$b" >"$tmp/dpkg.log" 2>&1; then
	ok "dpkg -i $b"
else
	cat "$tmp/dpkg.log"
	bad "dpkg -i $b"
	finish
fi

# mode owner group of a path in the root
st() { in_root stat -c '%a %U %G' "$1" 2>/dev/null; }
u=$(in_root getent passwd peerlock)
case $u in
peerlock:x:*:*::/var/lib/peerlock:/usr/sbin/nologin | \
peerlock:x:*:*:peerlock*:/var/lib/peerlock:/usr/sbin/nologin)
	uid=$(echo "$u" | cut -d: -f3)
	if [ "$uid" -lt 1000 ]; then ok "system user: $u"
	else bad "peerlock uid $uid is not a system uid"; fi ;;
*) bad "peerlock user: '$u'" ;;
esac
for want in "/var/lib/peerlock:700 peerlock peerlock" \
    "/etc/peerlock:755 root root" \
    "/etc/peerlock/peerlock.conf:644 root root" \
    "/usr/bin/peerlock:755 root root"; do
	p=${want%%:*}
	got=$(st "$p")
	if [ "$got" = "${want#*:}" ]; then
		ok "$p $got"
	else
		bad "$p: expected ${want#*:}, got '$got'"
	fi
done
if grep -q '^/etc/peerlock/peerlock.conf$' \
    "$root/var/lib/dpkg/info/peerlock.conffiles" 2>/dev/null; then
	ok "/etc/peerlock/peerlock.conf is a conffile"
else bad "/etc/peerlock/peerlock.conf is not a conffile"; fi
if [ -s "$root/usr/share/man/man8/peerlock.8.gz" ] &&
    [ -s "$root/usr/share/man/man5/peerlock.conf.5.gz" ]; then
	ok "man pages installed"
else bad "man pages missing"; fi
if in_root peerlock version >/dev/null; then
	ok "peerlock version: $(in_root peerlock version | head -n 1)"
else bad "peerlock version"; fi

# What ExecStartPre does on first start, as the unit's user, then check.
if in_root setpriv --reuid=peerlock --regid=peerlock --init-groups \
    sh -c 'umask 077; peerlock keygen -o /var/lib/peerlock/identity.key' \
    >"$tmp/keygen" 2>&1; then
	ok "keygen as peerlock: $(cat "$tmp/keygen")"
else cat "$tmp/keygen"; bad "keygen as peerlock"; fi
got=$(st /var/lib/peerlock/identity.key)
if [ "$got" = "600 peerlock peerlock" ]; then
	ok "identity.key $got"
else
	bad "identity.key: expected 600 peerlock peerlock, got '$got'"
fi
if in_root setpriv --reuid=peerlock --regid=peerlock --init-groups \
    peerlock check -c /etc/peerlock/peerlock.conf >"$tmp/check" 2>&1; then
	ok "peerlock check (shipped config): $(cat "$tmp/check")"
else cat "$tmp/check"; bad "peerlock check on /etc/peerlock/peerlock.conf"; fi

# Units, as installed, against the root's binary and man pages.
units="/lib/systemd/system/peerlock.service /lib/systemd/system/peerlock.socket
/lib/systemd/system/peerlock@.service"
# shellcheck disable=SC2086 # $units: a list
if SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --root="$root" \
    --man=no $units /lib/systemd/system/peerlock@site-a.service \
    >"$tmp/verify" 2>&1 && ! grep -q . "$tmp/verify"; then
	ok "systemd-analyze verify --root: peerlock.service, .socket, peerlock@site-a"
else
	cat "$tmp/verify"
	bad "systemd-analyze verify"
fi
if grep -q '^ExecStart=/usr/bin/peerlock run' \
    "$root/lib/systemd/system/peerlock.service"; then
	ok "unit runs /usr/bin/peerlock (the configured prefix)"
else bad "unit ExecStart is not /usr/bin/peerlock"; fi
enabled=$(find "$root/etc/systemd/system" -name 'peerlock*' 2>/dev/null)
if [ -z "$enabled" ]; then
	ok "nothing enabled on installation"
else
	bad "enabled on installation: $enabled"
fi

# --- remove, purge -------------------------------------------------------------------
if in_root dpkg -r peerlock >"$tmp/rm.log" 2>&1 &&
    [ ! -e "$root/usr/bin/peerlock" ] &&
    [ -e "$root/etc/peerlock/peerlock.conf" ]; then
	ok "dpkg -r: binary gone, conffile kept"
else cat "$tmp/rm.log"; bad "dpkg -r"; fi
if in_root dpkg -P peerlock >"$tmp/purge.log" 2>&1; then
	left=$(cd "$root" && ls -d etc/peerlock var/lib/peerlock \
	    lib/systemd/system/peerlock* usr/share/doc/peerlock \
	    var/lib/dpkg/info/peerlock.* 2>/dev/null)
	# shellcheck disable=SC2016 # a dpkg-query format
	st=$(in_root dpkg-query -W -f='${db:Status-Abbrev}' peerlock 2>/dev/null)
	st=$(echo "$st" | tr -d ' ')
	if [ -z "$left" ] && { [ -z "$st" ] || [ "$st" = un ] ||
	    [ "$st" = pn ]; }; then
		ok "dpkg -P: no files, no dpkg record, keys removed"
	else bad "after purge: left '$left', status '$st'"; fi
else cat "$tmp/purge.log"; bad "dpkg -P"; fi

echo "INFO: total $(($(date +%s) - t0)) s"
finish
