#!/bin/sh
# Goal: `user = NAME` in [peerlock] makes a peerlock started as root bind
# its ports (a privileged one included), then drop to NAME for good:
# /proc/PID/status shows NAME's uid and gid in all four slots and no
# supplementary groups, tunnels still work, and the process is not
# dumpable (PR_SET_DUMPABLE 0: its /proc entry stays owned by root).  A
# user that does not exist fails clearly at start and in `check`; a
# malformed name is a config error with file:line.
# Needs root and the user `nobody`; skips (77) otherwise.
. "$(dirname "$0")/lib.sh"

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root to test dropping privileges"
NOBODY_UID=$(id -u nobody 2>/dev/null) || skip "no user 'nobody'"
NOBODY_GID=$(id -g nobody)

keygen A; keygen B
start_echod echo
# a free privileged port: binding it needs root, so it proves the order
PB=$(python3 -c '
import socket
for p in range(990, 700, -1):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()
')
FA=$(free_port)
conf_node B "listen=/ip4/127.0.0.1/tcp/$PB" user=nobody
conf_expose B echo "$ID_A" "$PORT_echo"
conf_node A
conf_forward A echo "$FA" "$PB" "$ID_B"
check "check accepts user = nobody" "$PEERLOCK" check -c "$T/B.conf"
start_peerlock B || exit 1
start_peerlock A || exit 1
st=/proc/$PID_B/status
check "B logged the drop" logged B "dropped privileges to user nobody (uid $NOBODY_UID, gid $NOBODY_GID)"
check "B runs as nobody: real, effective, saved and fs uid $NOBODY_UID" \
    grep -q "^Uid:	$NOBODY_UID	$NOBODY_UID	$NOBODY_UID	$NOBODY_UID\$" "$st"
check "B's gids are all $NOBODY_GID" \
    grep -q "^Gid:	$NOBODY_GID	$NOBODY_GID	$NOBODY_GID	$NOBODY_GID\$" "$st"
check "B has no supplementary groups" grep -q "^Groups:[[:space:]]*\$" "$st"
check "B kept its privileged listener on port $PB" wait_port "$PB" 2
# (a dumpable process of nobody owns its /proc/PID/status: the control)
setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups \
    sleep 5 &
ctl=$!
sleep 0.3
check "control: a dumpable process of nobody owns its /proc/PID/status" \
    test "$(stat -c %u "/proc/$ctl/status")" -eq "$NOBODY_UID"
kill "$ctl"; wait "$ctl" 2>/dev/null
check "B is not dumpable: its /proc/PID/status stays owned by root" \
    test "$(stat -c %u "/proc/$PID_B/status")" -eq 0
check "a tunnel through the dropped B works (1 MiB echoed)" \
    "$TOOLS/plclient" 127.0.0.1 "$FA" --bytes 1M
check "A (no user key) still runs as root" \
    grep -q "^Uid:	0	0	0	0\$" "/proc/$PID_A/status"

# PR_SET_DUMPABLE does not depend on `user`: peerlock started as nobody
# (no user key) is not dumpable either.
chmod 711 "$T"
mkdir "$T/nb"
cp "$T/A.key" "$T/nb/n.key"
cat >"$T/nb/n.conf" <<CONF
[peerlock]
identity = $T/nb/n.key
[forward.x]
listen = 127.0.0.1:$(free_port)
peer = /ip4/127.0.0.1/tcp/$PB/p2p/$ID_B
CONF
chown -R nobody "$T/nb"
bg N setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups \
    "$PEERLOCK" run -c "$T/nb/n.conf"
check "peerlock started as nobody runs" logged_re N "$PL_READY"
check "... and is not dumpable (its /proc/PID/status is root's)" \
    test "$(stat -c %u "/proc/$PID_N/status")" -eq 0

sed "s/^user = nobody/user = peerlock-no-such-user/" "$T/B.conf" >"$T/C.conf"
sed -i "s|^listen = .*|listen = /ip4/127.0.0.1/tcp/$(free_port)|" "$T/C.conf"
"$PEERLOCK" run -c "$T/C.conf" >"$T/C.log" 2>&1
rc=$?
check "a missing user: run exits non-zero" test "$rc" -ne 0
check "a missing user: the error names the user" \
    grep -q "user: no such user 'peerlock-no-such-user'" "$T/C.log"
check_not "a missing user: check fails too" "$PEERLOCK" check -c "$T/C.conf"
sed "s/^user = nobody/user = no body/" "$T/B.conf" >"$T/D.conf"
"$PEERLOCK" check -c "$T/D.conf" >"$T/D.out" 2>&1
check "a malformed user name is a config error at file:line" \
    grep -q "D.conf:4: user: bad user name 'no body'" "$T/D.out"
pl_finish
