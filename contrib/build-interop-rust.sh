#!/bin/sh
# build-interop-rust.sh - build tests/interop/rust (rspeer: rust-libp2p's
# noise and tls upgrades on raw TCP, and a full Swarm with yamux, identify,
# ping and /x/echo for node mode) for tests/interop/cells-rust.sh.
#   contrib/build-interop-rust.sh             install missing packages, build
#   contrib/build-interop-rust.sh --no-install  build only if cargo is usable
# Everything lands outside the clone, under $PEERLOCK_INTEROP_CACHE
# (default /var/cache/peerlock-interop):
#   cargo/        CARGO_HOME (registry and git caches)
#   rust-target/  CARGO_TARGET_DIR (build outputs)
#   bin/rspeer-HASH  the binary the cells run, one per HASH: the sha256 of
#                 Cargo.toml, Cargo.lock, src/ and `rustc -V`, so that
#                 worktrees or branches with different rspeer sources never
#                 run each other's binary (the newest 6 are kept)
#   bin/rspeer    a link to the last one built, for use by hand
#   rspeer.stamp  the HASH of the last build
#   rust.lock     one cargo build and copy at a time (flock)
# A second run with an unchanged peer and toolchain is a no-op (the
# binary of that hash exists).
# Prints the binary's path on the last line of stdout; exit 0 on success,
# 1 when the build fails or no usable toolchain is there.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
src="$here/tests/interop/rust"
cache=${PEERLOCK_INTEROP_CACHE:-/var/cache/peerlock-interop}
MSRV=1.88	# rust-version of libp2p 0.57.1 and its tls/noise crates
install=1
[ "${1:-}" = "--no-install" ] && install=0

say() { echo "build-interop-rust: $*" >&2; }

# apt_need PKG...: install the Debian packages that are not installed yet.
apt_need() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "ok installed" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	say "apt-get install$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing \
	    >/dev/null
}

# ver_ge A B: version A >= version B (dotted numbers).
ver_ge() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$2" ]
}

if [ $install -eq 1 ]; then
	# openssl makes the RSA keys (rust-libp2p cannot generate them);
	# cargo/rustc from Debian only if no toolchain is on PATH (rustup's
	# ~/.cargo/bin counts).
	apt_need openssl ca-certificates
	[ -x "$HOME/.cargo/bin/cargo" ] && PATH="$HOME/.cargo/bin:$PATH"
	command -v cargo >/dev/null 2>&1 || apt_need cargo rustc
fi
[ -x "$HOME/.cargo/bin/cargo" ] && PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null 2>&1 || ! command -v rustc >/dev/null 2>&1; then
	say "cargo/rustc not found (contrib/install-deps.sh --interop, or rustup)"
	exit 1
fi
rv=$(rustc -V | awk '{print $2}')
if ! ver_ge "$rv" "$MSRV"; then
	say "rustc $rv is older than $MSRV, which libp2p 0.57 needs" \
	    "(Debian 12's rustc is 1.63: install a newer toolchain with rustup)"
	exit 1
fi

mkdir -p "$cache/bin"
export CARGO_HOME="$cache/cargo"
export CARGO_TARGET_DIR="$cache/rust-target"
stamp="$cache/rspeer.stamp"
want=$( (cd "$src" && cat Cargo.toml Cargo.lock && find src -type f |
    LC_ALL=C sort | xargs cat && rustc -V) | sha256sum | cut -d' ' -f1)
bin="$cache/bin/rspeer-$want"
if [ -x "$bin" ]; then
	say "rspeer up to date ($want)"
	echo "$bin"
	exit 0
fi
# Two cells scripts (two worktrees, or make check's two matrices) share
# CARGO_TARGET_DIR: one build-and-copy at a time, then look again.
exec 9>"$cache/rust.lock"
flock 9
if [ -x "$bin" ]; then
	say "rspeer up to date ($want), built meanwhile"
	echo "$bin"
	exit 0
fi

say "cargo build --release --locked in $src (rustc $rv)"
t0=$(date +%s)
# Release, tuned for compile time over speed: opt-level 1, no debug info,
# 16 codegen units, no LTO ([profile.release] in Cargo.toml).
(cd "$src" && cargo build --release --locked -j "${CARGO_JOBS:-2}") >&2
cp "$CARGO_TARGET_DIR/release/rspeer" "$bin.tmp"
mv "$bin.tmp" "$bin"
ln -sfn "rspeer-$want" "$cache/bin/rspeer"
echo "$want" >"$stamp"
# keep the newest 6 builds
# shellcheck disable=SC2010,SC2012 # the names are rspeer-<hex>
ls -t "$cache/bin" | grep '^rspeer-[0-9a-f]*$' | tail -n +7 |
    while read -r old; do rm -f "$cache/bin/$old"; done
exec 9>&-
say "built $bin in $(($(date +%s) - t0)) s"
echo "$bin"
