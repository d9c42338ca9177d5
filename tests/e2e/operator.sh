#!/bin/sh
# Goal: what an operator trying peerlock for the first time runs into
# (issue 14), each with real processes:
#  - the harness itself: a peerlock whose bind fails ("Address already
#    in use") does not count as started.
. "$(dirname "$0")/lib.sh"

keygen A; keygen B; keygen H

# --- the harness: a failed bind is not a start ---------------------------
start_echod busy
conf_node H
conf_forward H x "$PORT_busy" "$(free_port)" "$ID_B"
check_not "start_peerlock fails when the forward's port is taken" \
    start_peerlock H
check "... and the log says why" logged H "Address already in use"

pl_finish
