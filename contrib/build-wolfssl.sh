#!/bin/sh
# build-wolfssl.sh - build a private, static wolfSSL for peerlock from
# Debian's own source package (same version and patches as the installed
# libwolfssl-dev, same configure flags as debian/rules) plus
# -DWOLFSSL_NO_ASN_STRICT, so that a peer certificate carrying the libp2p
# public key extension marked CRITICAL (js-libp2p, rust-libp2p) reaches
# our verify callback instead of failing with ASN_CRIT_EXT_E (-160).
# See docs/tls.md, "Critical libp2p extension".
#
#   contrib/build-wolfssl.sh [DIR]     default DIR: <repo>/build-wolfssl
#
# Result: DIR/prefix/{include,lib/libwolfssl.a,lib/pkgconfig/wolfssl.pc};
# peerlock's configure picks DIR/prefix up by itself (or pass
# --with-wolfssl=DIR/prefix).  The only network access is "apt-get source"
# against the deb-src twin of the system's own apt sources, through a
# private apt state directory (the system's apt configuration is not
# changed).  Re-running is a no-op once the stamp matches.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/build-wolfssl}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
prefix=$dir/prefix
jobs=${JOBS:-2}
extra_cppflags="-DWOLFSSL_NO_ASN_STRICT -DMAX_CHAIN_DEPTH=2 -DHAVE_SECRET_CALLBACK"
# On x86-64 also the AES-NI and AVX1/AVX2 assembly (ChaCha20, Poly1305,
# AES-GCM, SHA-2): wolfSSL picks them at run time from CPUID, so the
# library still runs on CPUs without them.  Debian's build has neither, and
# its plain C ChaCha20 was most of the TLS bulk profile (docs/benchmarks.md).
# -DMAX_CHAIN_DEPTH=2: every session keeps two inline arrays of
# MAX_CHAIN_DEPTH certificate buffers of 2 KiB (the peer chain and the
# alternative chain); the default depth of 9 made that 37 KB per TLS
# connection.  A libp2p peer presents exactly one self-signed certificate,
# so 2 is plenty and saves 29 KB per connection (docs/benchmarks.md).
# -DHAVE_SECRET_CALLBACK: wolfSSL hands tls.c the TLS 1.3 traffic secrets,
# so that after the handshake peerlock's own record layer (tlsrec.c)
# takes over and the WOLFSSL object is freed (docs/tls.md, "Records
# after the handshake").
extra_conf=""
[ "$(uname -m)" = x86_64 ] && extra_conf="--enable-aesni --enable-intelasm"

ver=$(dpkg-query -W -f='${source:Version}' libwolfssl-dev 2>/dev/null ||
    true)
stamp="wolfssl ${ver:-unknown} $extra_cppflags $extra_conf"
if [ -f "$prefix/.peerlock-stamp" ] &&
    [ "$(cat "$prefix/.peerlock-stamp")" = "$stamp" ]; then
	echo "build-wolfssl: $prefix is up to date ($stamp)"
	exit 0
fi

# A finished build is kept outside the clone, keyed by the stamp, so a
# fresh clone on the same machine copies it instead of building again
# (PEERLOCK_WOLFSSL_CACHE=none turns that off).  The install records its
# own prefix in wolfssl.pc and wolfssl-config: the copy's are rewritten.
cache_root=${PEERLOCK_WOLFSSL_CACHE:-/var/cache/peerlock-wolfssl}
cache=""
if [ "$cache_root" != none ]; then
	key=$(printf '%s' "$stamp" | sha256sum | cut -c1-16)
	cache=$cache_root/$key
fi
if [ -n "$cache" ] && [ -f "$cache/prefix/.peerlock-stamp" ] &&
    [ "$(cat "$cache/prefix/.peerlock-stamp")" = "$stamp" ] &&
    [ -f "$cache/origin" ]; then
	rm -rf "$prefix"
	cp -a "$cache/prefix" "$prefix"
	origin=$(cat "$cache/origin")
	grep -rlIF "$origin" "$prefix" 2>/dev/null | while read -r f; do
		sed -i "s|$origin|$prefix|g" "$f"
	done
	echo "build-wolfssl: copied from $cache ($stamp)"
	exit 0
fi

for t in apt-get dpkg-source dpkg-buildflags autoreconf make cc; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "build-wolfssl: $t not found (run contrib/install-deps.sh)" >&2
		exit 1
	}
done

# A private apt setup whose sources are the system's with Types: deb-src.
apt_dir=$dir/apt
rm -rf "$apt_dir"
mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial" "$apt_dir/cache"
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	sed 's/^Types:.*/Types: deb-src/' "$f" >"$apt_dir/parts/${f##*/}"
done
cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' >"$apt_dir/src.list"
set -- -o Dir::Etc::SourceList="$apt_dir/src.list" \
    -o Dir::Etc::SourceParts="$apt_dir/parts" \
    -o Dir::State::Lists="$apt_dir/lists" \
    -o Dir::Cache="$apt_dir/cache" -o Debug::NoLocking=1
[ "$(id -u)" -eq 0 ] && set -- "$@" -o APT::Sandbox::User=root
echo "build-wolfssl: fetching Debian source wolfssl ${ver:-(candidate)}"
apt-get "$@" -qq update
rm -rf "$dir/src"
mkdir -p "$dir/src"
(cd "$dir/src" &&
    { apt-get "$@" -qq source "wolfssl${ver:+=$ver}" ||
    apt-get "$@" -qq source wolfssl; } >/dev/null)
src=$(find "$dir/src" -mindepth 1 -maxdepth 1 -type d -name 'wolfssl-*' |
    head -n 1)
[ -n "$src" ] || { echo "build-wolfssl: no source tree" >&2; exit 1; }

# debian/rules: dh (compat 13 => autoreconf) with hardening=+all and
#   --enable-distro --enable-pkcs11 --disable-examples
echo "build-wolfssl: configuring $src"
cd "$src"
autoreconf -fi >/dev/null 2>&1
eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
CPPFLAGS="$CPPFLAGS $extra_cppflags"
export CPPFLAGS
# shellcheck disable=SC2086
./configure --prefix="$prefix" --libdir="$prefix/lib" \
    --enable-distro --enable-pkcs11 --disable-examples $extra_conf \
    --with-pic >"$dir/configure.log" 2>&1 || {
	echo "build-wolfssl: configure failed, see $dir/configure.log" >&2
	exit 1
}
grep -q "define WOLFSSL_NO_ASN_STRICT" wolfssl/options.h || {
	echo "build-wolfssl: WOLFSSL_NO_ASN_STRICT missing in options.h" >&2
	exit 1
}
echo "build-wolfssl: building (make -j$jobs)"
rm -rf "$prefix"
make -j"$jobs" >"$dir/make.log" 2>&1 && make install >>"$dir/make.log" 2>&1 ||
    { echo "build-wolfssl: build failed, see $dir/make.log" >&2; exit 1; }
# --enable-distro does not install options.h; Debian's
# libwolfssl-dev.install copies it by hand, and so do we.
cp wolfssl/options.h "$prefix/include/wolfssl/options.h"
# --enable-distro always builds the shared library too; drop it so that
# peerlock links the static one and needs no run-time library path.
rm -f "$prefix"/lib/libwolfssl.so* "$prefix"/lib/libwolfssl.la
# The static library needs libm (the shared one records it as NEEDED).
pc=$prefix/lib/pkgconfig/wolfssl.pc
grep -q '^Libs.private:' "$pc" || echo "Libs.private: -lm" >>"$pc"
echo "$stamp" >"$prefix/.peerlock-stamp"
if [ -n "$cache" ] && mkdir -p "$cache_root" 2>/dev/null; then
	rm -rf "$cache.tmp"
	if cp -a "$prefix" "$cache.tmp" 2>/dev/null; then
		mkdir -p "$cache.new" && mv "$cache.tmp" "$cache.new/prefix" &&
		    echo "$prefix" >"$cache.new/origin" &&
		    rm -rf "$cache" && mv "$cache.new" "$cache" &&
		    echo "build-wolfssl: cached in $cache"
	fi
	rm -rf "$cache.tmp" "$cache.new"
fi
echo "build-wolfssl: done: $prefix"
