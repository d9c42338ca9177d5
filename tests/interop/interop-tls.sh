#!/bin/sh
# Goal: the js-libp2p interop matrix of interop.sh over /tls/1.0.0
# (@libp2p/tls, which marks the libp2p extension critical).
SECURITY=tls exec sh "$(dirname "$0")/interop.sh" "$@"
