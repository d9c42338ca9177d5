#!/bin/sh
# container-test.sh - build docker/Dockerfile with podman and run the
# two-site topology of docker/compose.yml for real:
#
#   plct-site-a:  client ──plain──▶ peerlock-a ┐
#   plct-wan:                                   └═ /noise ═▶ peerlock-b:4001 ┐
#   plct-site-b:                                   echo (legacy):6379 ◀──plain┘
#
# Three internal networks; only the two sidecars share the wan network,
# and the only listener on it is peerlock-b's encrypted port.  The sidecars
# run as compose.yml runs them: read-only root, /tmp tmpfs, --cap-drop ALL,
# no-new-privileges, stop timeout 40 s, identities in named volumes.  The
# legacy app is an echo server (perl-base, already in the image).
#
# Checks (each one PASS or FAIL; exit 0 only when all pass):
#   image: built in docker format with a HEALTHCHECK, runs as 10001,
#     no compiler in it, size reported
#   the health check answers healthy (podman healthcheck run), and
#     peerlock-health fails against a port nobody serves
#   PID 1 of each sidecar is peerlock, uid/gid 10001, every capability set
#     empty, no_new_privs
#   16 MiB of random bytes through client → a → b → echo → back, sha256
#     equal
#   podman stop of peerlock-b while a slow stream is in flight: the stream
#     completes with the right checksum, peerlock logs the drain and no
#     forced close, the container exits 0 well before the stop timeout
#
#   contrib/container-test.sh            (as root; installs podman etc.)
# Environment: PLC_CACHE (default /var/cache/peerlock-container),
# PEERLOCK_BASE_REFRESH=1 to redo debootstrap.  docs/packaging.md explains
# the podman settings.
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
	echo "container: $npass passed, $nfail failed"
	[ "$nfail" -eq 0 ] && [ "$npass" -gt 0 ]
	exit $?
}

P=plct
IMG=localhost/peerlock:container-test
tmp=$(mktemp -d "${TMPDIR:-/tmp}/container-test.XXXXXX")

cleanup() {
	for c in client client2 legacy peerlock-a peerlock-b; do
		podman rm -f -t 0 "$P-$c" >/dev/null 2>&1
	done
	for n in site-a wan site-b; do
		podman network rm -f "$P-$n" >/dev/null 2>&1
	done
	podman volume rm -f "$P-id-a" "$P-id-b" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

t0=$(date +%s)
container_setup || { bad "podman setup"; finish; }
container_base || { bad "base image (debootstrap + import)"; finish; }
t1=$(date +%s)
if container_image "$IMG" >"$tmp/build.log" 2>&1; then
	ok "podman build docker/Dockerfile ($(($(date +%s) - t1)) s)"
else
	tail -n 40 "$tmp/build.log"
	bad "podman build docker/Dockerfile"
	finish
fi
cleanup
mkdir -p "$tmp"

# --- the image ------------------------------------------------------------
hc=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$IMG")
case $hc in
*peerlock-health*) ok "image has the HEALTHCHECK ($hc)" ;;
*) bad "image HEALTHCHECK: expected peerlock-health, got '$hc'" ;;
esac
user=$(podman image inspect --format '{{.Config.User}}' "$IMG")
if [ "$user" = 10001:10001 ]; then
	ok "image USER $user"
else
	bad "image USER: expected 10001:10001, got '$user'"
fi
tools=$(podman run --rm --entrypoint sh "$IMG" -c \
    'for t in cc gcc make autoreconf pkg-config apt-get; do command -v $t; done' |
    grep -v apt-get)
if [ -z "$tools" ]; then
	ok "final stage has no build tools"
else
	bad "build tools in the final stage: $tools"
fi
size=$(podman image inspect --format '{{.Size}}' "$IMG")
echo "INFO: image size $((size / 1000000)) MB"

# --- topology -------------------------------------------------------------
i=0
for n in site-a wan site-b; do
	i=$((i + 1))
	podman network create --internal --subnet "10.203.$i.0/24" \
	    "$P-$n" >/dev/null || { bad "network $P-$n"; finish; }
done
gw() { podman network inspect --format \
    '{{range .Subnets}}{{.Gateway}}{{end}}' "$P-$1"; }
GW_A=$(gw site-a) GW_W=$(gw wan) GW_B=$(gw site-b)

# Identities: the entry point's "identity" command, as docker/examples/init.sh.
ident() {
	podman run --rm --read-only --tmpfs /tmp --network none \
	    -v "$top/docker/examples/$1.conf:/etc/peerlock/peerlock.conf:ro,Z" \
	    -v "$P-id-$1:/var/lib/peerlock" "$IMG" identity
}
PEER_A=$(ident a 2>"$tmp/id-a.err") && PEER_B=$(ident b 2>"$tmp/id-b.err")
case $PEER_A.$PEER_B in
12D3KooW*.12D3KooW*) ok "identities in volumes: $PEER_A $PEER_B" ;;
*) cat "$tmp"/id-*.err; bad "identities: '$PEER_A' '$PEER_B'"; finish ;;
esac
again=$(ident a 2>/dev/null)
if [ "$again" = "$PEER_A" ]; then
	ok "identity kept across runs"
else
	bad "identity changed: $PEER_A then $again"
fi

# --dns: the one aardvark-dns of the network whose names the container
# looks up (libevent's resolver rotates through every nameserver, and
# podman would list the host's upstream server too).
sidecar() {
	name=$1 conf=$2 dns=$3
	shift 3
	podman run -d --name "$P-$name" --hostname "$name" \
	    --read-only --tmpfs /tmp --cap-drop ALL \
	    --security-opt no-new-privileges --stop-timeout 40 \
	    --dns "$dns" \
	    -v "$top/docker/examples/$conf.conf:/etc/peerlock/peerlock.conf:ro,Z" \
	    -v "$P-id-$conf:/var/lib/peerlock" "$@" "$IMG" \
	    >/dev/null 2>>"$tmp/podman.err"
}

# The legacy app: an echo server on 6379 (perl-base is in every Debian).
podman run -d --name "$P-legacy" --network "$P-site-b" \
    --network-alias legacy --read-only --cap-drop ALL \
    --entrypoint perl "$IMG" -MIO::Socket::INET -e '
	$SIG{CHLD} = "IGNORE";
	my $s = IO::Socket::INET->new(LocalPort => 6379, Listen => 64,
	    ReuseAddr => 1) or die "listen: $!";
	while (my $c = $s->accept) {
		next if fork;
		my $b;
		while (my $n = sysread($c, $b, 65536)) {
			my $o = 0;
			while ($o < $n) { my $w = syswrite($c, $b, $n - $o, $o);
				defined $w or exit; $o += $w }
		}
		exit;
	}' >/dev/null 2>>"$tmp/podman.err" || bad "echo service"

# --network-alias: the service names compose would register (aardvark-dns
# knows containers by name and alias, not by --hostname).
sidecar peerlock-b b "$GW_B" --network "$P-wan" --network "$P-site-b" \
    --network-alias peerlock-b -e "PEER_A=$PEER_A" || bad "start peerlock-b"
sidecar peerlock-a a "$GW_W" --network "$P-site-a" --network "$P-wan" \
    --network-alias peerlock-a -e "PEER_B=$PEER_B" \
    -e PEERLOCK_LOG_FORMAT=json || bad "start peerlock-a"

# podman 4.3 wants systemd timers for HEALTHCHECK intervals and complains
# on stderr (kept in $tmp/podman.err) that there is no systemd here; the
# check itself is run on demand with podman healthcheck run.
# --- health ----------------------------------------------------------------
healthy() {
	n=0
	while [ $n -lt 30 ]; do
		podman healthcheck run "$P-$1" >/dev/null 2>&1 && return 0
		n=$((n + 1))
		sleep 1
	done
	return 1
}
for s in peerlock-a peerlock-b; do
	if healthy "$s"; then
		st=$(podman inspect --format '{{.State.Health.Status}}' "$P-$s")
		if [ "$st" = healthy ]; then
			ok "$s: podman healthcheck run: $st"
		else
			bad "$s: health status '$st' after a passing check"
		fi
	else
		podman logs "$P-$s" 2>&1 | tail -n 20
		bad "$s: health check never passed"
	fi
done
if podman exec "$P-peerlock-b" peerlock-health 127.0.0.1:1 2>/dev/null; then
	bad "peerlock-health passes against a closed port"
else ok "peerlock-health fails against a closed port"; fi

# --- PID 1: peerlock, non-root, no capabilities -------------------------------
for s in peerlock-a peerlock-b; do
	pid=$(podman inspect --format '{{.State.Pid}}' "$P-$s")
	st=/proc/$pid/status
	comm=$(cat "/proc/$pid/comm" 2>/dev/null)
	nspid=$(awk '/^NSpid:/ { print $NF }' "$st")
	uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")
	gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")
	caps=$(awk '/^Cap(Inh|Prm|Eff|Bnd|Amb):/ { printf "%s%s ", $1, $2 }' "$st")
	nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "$st")
	if [ "$comm" = peerlock ] && [ "$nspid" = 1 ] &&
	    [ "$uids" = "10001 10001 10001 10001" ] &&
	    [ "$gids" = "10001 10001 10001 10001" ] && [ "$nnp" = 1 ] &&
	    ! echo "$caps" | grep -q ':[0-9a-f]*[1-9a-f]'; then
		ok "$s: PID 1 is $comm, uid/gid 10001, no_new_privs, $caps"
	else
		bad "$s: PID 1 comm=$comm nspid=$nspid uid=$uids gid=$gids nnp=$nnp $caps"
	fi
done

# --- a byte stream through the tunnel ---------------------------------------------
head -c 16777216 /dev/urandom >"$tmp/in"
want=$(sha256sum <"$tmp/in" | cut -d' ' -f1)
# Run bash in a container on site-a, $tmp at /data, for at most SECONDS.
# client NAME SECONDS SCRIPT
client() {
	podman run --rm --name "$P-$1" --network "$P-site-a" --dns "$GW_A" \
	    --read-only --cap-drop ALL -v "$tmp:/data:ro,Z" \
	    --entrypoint timeout "$IMG" "$2" bash -c "$3"
}
# shellcheck disable=SC2016 # for the client's bash
got=$(client client 120 '
	exec 3<>/dev/tcp/peerlock-a/6379 || exit 1
	cat /data/in >&3 &
	head -c 16777216 <&3 | sha256sum | cut -d" " -f1' 2>"$tmp/client.err")
if [ "$got" = "$want" ]; then
	ok "16 MiB through the tunnel, sha256 $want"
else
	cat "$tmp/client.err"
	podman logs "$P-peerlock-a" 2>&1 | tail -n 5
	podman logs "$P-peerlock-b" 2>&1 | tail -n 5
	bad "byte stream: sha256 expected $want, received '${got:-nothing}'"
fi
# The tunnel's record in peerlock-a's JSON log: 16 MiB each way.
if podman logs "$P-peerlock-a" 2>&1 |
    grep '"msg":"conn .* closed' |
    grep -q '"up":16777216,"down":16777216'; then
	ok "peerlock-a logged the tunnel (json): up and down 16777216"
else bad "peerlock-a logged no 16 MiB tunnel"; fi

# --- stop drains cleanly ------------------------------------------------------
# 20 chunks of 64 KiB, one every 0.25 s: about 5 s in flight.  peerlock-b
# is stopped 1.5 s in.
head -c 1310720 "$tmp/in" >"$tmp/slow"
want=$(sha256sum <"$tmp/slow" | cut -d' ' -f1)
# shellcheck disable=SC2016
(client client2 60 '
	exec 3<>/dev/tcp/peerlock-a/6379 || exit 1
	( for i in $(seq 0 19); do
		dd if=/data/slow bs=65536 skip=$i count=1 status=none
		sleep 0.25
	  done ) >&3 &
	head -c 1310720 <&3 | sha256sum | cut -d" " -f1' \
    >"$tmp/slow.out" 2>"$tmp/slow.err") &
cpid=$!
sleep 1.5
s0=$(date +%s)
podman stop -t 40 "$P-peerlock-b" >/dev/null 2>&1
s1=$(date +%s)
wait "$cpid"
got=$(cat "$tmp/slow.out")
code=$(podman inspect --format '{{.State.ExitCode}}' "$P-peerlock-b")
logs=$(podman logs "$P-peerlock-b" 2>&1)
if [ "$got" = "$want" ]; then
	ok "stream in flight during stop completed, sha256 $want"
else
	cat "$tmp/slow.err"
	bad "drain: in-flight stream sha256 expected $want, received '${got:-nothing}'"
fi
if [ "$code" = 0 ] && [ $((s1 - s0)) -lt 30 ] &&
    echo "$logs" | grep -q 'shutdown: waiting up to .* for 1 tunnel' &&
    ! echo "$logs" | grep -q 'still open'; then
	ok "podman stop peerlock-b: drained 1 tunnel, exit 0 in $((s1 - s0)) s"
else
	echo "$logs" | tail -n 15
	bad "podman stop peerlock-b: exit $code after $((s1 - s0)) s"
fi
podman stop -t 40 "$P-peerlock-a" >/dev/null 2>&1
code=$(podman inspect --format '{{.State.ExitCode}}' "$P-peerlock-a")
if [ "$code" = 0 ]; then
	ok "podman stop peerlock-a: exit 0"
else
	bad "podman stop peerlock-a: exit $code"
fi

echo "INFO: total $(($(date +%s) - t0)) s"
finish
