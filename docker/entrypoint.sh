#!/bin/sh
# entrypoint.sh - container entry point for peerlock (installed in the image
# as /usr/local/bin/docker-entrypoint.sh; tests/e2e/netns-topology.sh runs
# it outside containers too).
#
#   docker-entrypoint.sh [run]      render the config, make sure an identity
#                                   exists, print its peer ID, then
#                                   exec peerlock run (peerlock becomes PID 1)
#   docker-entrypoint.sh check      render, then peerlock check
#   docker-entrypoint.sh render     print the rendered config
#   docker-entrypoint.sh identity   create the identity if missing, print
#                                   its peer ID, exit
#   docker-entrypoint.sh reload     re-render in place, then SIGHUP PID 1
#                                   (use with docker exec after editing the
#                                   mounted config)
#   docker-entrypoint.sh ARGS...    anything else: exec peerlock ARGS...
#
# Rendering (docs/operations.md has the full description).  The source is
# $PEERLOCK_CONFIG (default /etc/peerlock/peerlock.conf); the result goes to
# $PEERLOCK_RENDERED (default /tmp/peerlock.conf), mode 0600:
#   1. ${NAME} in a value is replaced by the environment variable NAME; an
#      unset or empty NAME is an error (nothing starts with a half-filled
#      config).  Comment lines are copied unchanged.
#   2. In [peerlock], each key below whose variable is set and non-empty
#      gets that value: the key's line (with any indented continuation
#      lines) is replaced where it stands, or the key is added at the end of
#      the section when the file does not have it.
#        PEERLOCK_IDENTITY PEERLOCK_LISTEN PEERLOCK_ADMIN PEERLOCK_SECURITY
#        PEERLOCK_LOG_LEVEL PEERLOCK_LOG_FORMAT PEERLOCK_HANDSHAKE_TIMEOUT
#        PEERLOCK_CONNECT_TIMEOUT PEERLOCK_IDLE_TIMEOUT
#        PEERLOCK_MAX_CONNECTIONS PEERLOCK_SHUTDOWN_TIMEOUT
#   3. If [peerlock] still has no admin key, admin = $PEERLOCK_ADMIN_DEFAULT
#      is added when that variable is non-empty (the image sets it to
#      127.0.0.1:9090 so its HEALTHCHECK has an endpoint to ask).
#
# Identity: the rendered [peerlock] identity.  If PEERLOCK_IDENTITY_FROM
# names a file (e.g. a Kubernetes Secret, which the kubelet makes group
# readable when fsGroup is set), it is copied there with mode 0600 at every
# start.  Otherwise a missing identity is created with peerlock keygen
# (type $PEERLOCK_KEY_TYPE, default ed25519) unless PEERLOCK_KEYGEN=no.
#
# Other variables: PEERLOCK_BIN (default: peerlock from PATH).
set -eu

PEERLOCK_BIN=${PEERLOCK_BIN:-peerlock}
PEERLOCK_CONFIG=${PEERLOCK_CONFIG:-/etc/peerlock/peerlock.conf}
PEERLOCK_RENDERED=${PEERLOCK_RENDERED:-/tmp/peerlock.conf}
export PEERLOCK_ADMIN_DEFAULT="${PEERLOCK_ADMIN_DEFAULT:-}"

# Keys of [peerlock] that a PEERLOCK_<KEY> variable may set.
OVERRIDE_KEYS="identity listen admin security log_level log_format
handshake_timeout connect_timeout idle_timeout max_connections
shutdown_timeout"

say() { printf 'docker-entrypoint: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# render SRC: write the rendered config of SRC to stdout.
render() {
	OVERRIDE_KEYS=$OVERRIDE_KEYS awk '
	function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
	function envkey(k) { return "PEERLOCK_" toupper(k) }
	# The override for key k of [peerlock], or "" when there is none.
	function override(k) {
		if (!(k in known)) return ""
		return (envkey(k) in ENVIRON) ? ENVIRON[envkey(k)] : ""
	}
	# Replace every ${NAME} in s from the environment.
	function expand(s,    out, name) {
		out = ""
		while (match(s, /\$\{[A-Za-z_][A-Za-z0-9_]*\}/)) {
			name = substr(s, RSTART + 2, RLENGTH - 3)
			if (!(name in ENVIRON) || ENVIRON[name] == "") {
				printf "%s:%d: ${%s} is not set\n", FILENAME, FNR, name \
				    > "/dev/stderr"
				bad = 1
			}
			out = out substr(s, 1, RSTART - 1) ENVIRON[name]
			s = substr(s, RSTART + RLENGTH)
		}
		return out s
	}
	# Leaving [peerlock]: add the overrides the file did not have.
	function close_peerlock(    i, k) {
		for (i = 1; i <= nkeys; i++) {
			k = keys[i]
			if (!(k in seen) && override(k) != "")
				printf "%s = %s\n", k, override(k)
			else if (k == "admin" && !(k in seen) && \
			    ENVIRON["PEERLOCK_ADMIN_DEFAULT"] != "")
				printf "admin = %s\n", ENVIRON["PEERLOCK_ADMIN_DEFAULT"]
		}
		inpl = 0
	}
	BEGIN {
		nkeys = split(ENVIRON["OVERRIDE_KEYS"], keys, /[ \t\n]+/)
		for (i = 1; i <= nkeys; i++) {
			known[keys[i]] = 1
			if (index(override(keys[i]), "\n")) {
				printf "%s contains a newline\n", \
				    envkey(keys[i]) > "/dev/stderr"
				exit 1
			}
		}
	}
	{
		line = $0
		sub(/\r$/, "", line)
		body = line
		sub(/^[ \t]+/, "", body)
		indented = (body != line)
	}
	# Comments and blank lines: unchanged (libinih keeps a key open
	# across them, so they do not end a dropped continuation).
	body == "" || body ~ /^[;#]/ { print line; next }
	body ~ /^\[/ {
		if (inpl) close_peerlock()
		dropping = 0
		havekey = 0
		name = body
		sub(/^\[/, "", name); sub(/\].*$/, "", name)
		if (trim(name) == "peerlock") { inpl = 1; delete seen }
		print expand(line)
		next
	}
	# An indented line continues the previous key of the section
	# (libinih multiline); only a key line can start a section.
	indented && havekey && dropping { next }
	indented && havekey { print expand(line); next }
	{
		dropping = 0
		havekey = 1
		k = body
		sub(/[=:].*$/, "", k)
		k = trim(k)
		if (inpl) {
			seen[k] = 1
			if (override(k) != "") {
				printf "%s = %s\n", k, override(k)
				dropping = 1
				next
			}
		}
		print expand(line)
	}
	END {
		if (inpl) close_peerlock()
		if (bad) exit 1
	}' "$1"
}

# render_to FILE: render $PEERLOCK_CONFIG into FILE (0600, atomically).
render_to() {
	[ -r "$PEERLOCK_CONFIG" ] ||
	    die "cannot read PEERLOCK_CONFIG=$PEERLOCK_CONFIG (mount a config there)"
	tmp="$1.tmp.$$"
	(umask 077; render "$PEERLOCK_CONFIG" >"$tmp") ||
	    { rm -f "$tmp"; die "cannot render $PEERLOCK_CONFIG"; }
	mv -f "$tmp" "$1"
}

# identity_path FILE: the identity key of [peerlock] in a rendered FILE.
identity_path() {
	awk '
	{ b = $0; sub(/^[ \t]+/, "", b) }
	b ~ /^\[/ { s = b; sub(/^\[[ \t]*/, "", s); sub(/[ \t]*\].*$/, "", s)
		inpl = (s == "peerlock"); next }
	inpl && b ~ /^identity[ \t]*[=:]/ {
		sub(/^identity[ \t]*[=:][ \t]*/, "", b)
		sub(/[ \t]+[;#].*$/, "", b)
		sub(/[ \t]+$/, "", b)
		print b; exit
	}' "$1"
}

# source_identity: the identity path without rendering (PEERLOCK_IDENTITY,
# else [peerlock] identity of the source config), so that "identity" works
# before the ${PEER_...} values it would need for a full render are known.
source_identity() {
	if [ -n "${PEERLOCK_IDENTITY:-}" ]; then
		printf '%s\n' "$PEERLOCK_IDENTITY"
	else
		[ -r "$PEERLOCK_CONFIG" ] ||
		    die "cannot read PEERLOCK_CONFIG=$PEERLOCK_CONFIG"
		identity_path "$PEERLOCK_CONFIG"
	fi
}

# ensure_identity FILE: copy or create the identity at FILE, print its ID.
ensure_identity() {
	[ -n "$1" ] || die "[peerlock] has no identity (set PEERLOCK_IDENTITY)"
	if [ -n "${PEERLOCK_IDENTITY_FROM:-}" ]; then
		[ -r "$PEERLOCK_IDENTITY_FROM" ] ||
		    die "cannot read PEERLOCK_IDENTITY_FROM=$PEERLOCK_IDENTITY_FROM"
		(umask 077; mkdir -p "$(dirname "$1")")
		rm -f "$1.tmp.$$"
		(umask 077; cat "$PEERLOCK_IDENTITY_FROM" >"$1.tmp.$$")
		chmod 0600 "$1.tmp.$$"
		mv -f "$1.tmp.$$" "$1"
		say "identity $1 (copied from $PEERLOCK_IDENTITY_FROM)"
	elif [ ! -e "$1" ]; then
		[ "${PEERLOCK_KEYGEN:-yes}" != no ] ||
		    die "identity $1 does not exist and PEERLOCK_KEYGEN=no"
		(umask 077; mkdir -p "$(dirname "$1")")
		"$PEERLOCK_BIN" keygen -o "$1" \
		    -t "${PEERLOCK_KEY_TYPE:-ed25519}" >/dev/null ||
		    die "cannot create identity $1"
		say "identity $1 created"
	fi
	pid=$("$PEERLOCK_BIN" id "$1") || die "cannot read identity $1"
	say "peer id $pid"
}

cmd=${1:-run}
case $cmd in
run)
	[ $# -gt 0 ] && shift
	[ $# -eq 0 ] || die "run takes no arguments (configure with PEERLOCK_*)"
	render_to "$PEERLOCK_RENDERED"
	ensure_identity "$(identity_path "$PEERLOCK_RENDERED")"
	exec "$PEERLOCK_BIN" run -c "$PEERLOCK_RENDERED"
	;;
check)
	if [ $# -eq 1 ]; then
		render_to "$PEERLOCK_RENDERED"
		exec "$PEERLOCK_BIN" check -c "$PEERLOCK_RENDERED"
	fi
	exec "$PEERLOCK_BIN" "$@"
	;;
render)
	out=$(render "$PEERLOCK_CONFIG") || exit 1
	printf '%s\n' "$out"
	;;
identity)
	f=$(source_identity)
	ensure_identity "$f"
	"$PEERLOCK_BIN" id "$f"
	;;
reload)
	render_to "$PEERLOCK_RENDERED"
	kill -HUP "${PEERLOCK_PID:-1}"
	say "re-rendered $PEERLOCK_RENDERED; sent SIGHUP to ${PEERLOCK_PID:-1}"
	;;
*)
	exec "$PEERLOCK_BIN" "$@"
	;;
esac
