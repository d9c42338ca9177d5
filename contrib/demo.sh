#!/bin/sh
# demo.sh - install dependencies, build peerlock, and run its embedded
# demo: two peerlock instances on loopback in front of an echo service.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
contrib/install-deps.sh
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
build=${PEERLOCK_BUILD_DIR:-$top/build}
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" >/dev/null
make -j"$(nproc)" peerlock >/dev/null
exec ./peerlock demo
