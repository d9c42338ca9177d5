# shellcheck shell=sh
# lib-wait.sh - the port and wait helpers of the interop scripts (sourced
# by interop.sh, cells-go.sh and lib-cells.sh; not run).  Needs
# top_srcdir.  wait_listen and wait_file wait WAIT_LISTEN_TENTHS and
# WAIT_FILE_TENTHS tenths of a second (default 100: 10 s) unless the call
# gives its own.

# free_port: print a TCP port that was free a moment ago, below the
# kernel's ephemeral range (tests/tools/free_port.py).
free_port() {
	python3 "$top_srcdir/tests/tools/free_port.py"
}

# wait_listen PORT PID [TENTHS]: wait for a TCP listener on 127.0.0.1:PORT
# (read from /proc/net/tcp, so nothing connects to it); 1 if process PID
# died first or the time ran out.
wait_listen() {
	_wt=0
	while [ $_wt -lt "${3:-${WAIT_LISTEN_TENTHS:-100}}" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		python3 -c 'import sys
want = "0100007F:%04X" % int(sys.argv[1])
with open("/proc/net/tcp") as f:
    for line in f.readlines()[1:]:
        col = line.split()
        if col[1] == want and col[3] == "0A":
            sys.exit(0)
sys.exit(1)' "$1" && return 0
		sleep 0.1
		_wt=$((_wt + 1))
	done
	return 1
}

# wait_file FILE PID [TENTHS]: wait for FILE to be non-empty; 1 if process
# PID died first or the time ran out.
wait_file() {
	_wt=0
	while [ ! -s "$1" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		[ $_wt -ge "${3:-${WAIT_FILE_TENTHS:-100}}" ] && return 1
		sleep 0.1
		_wt=$((_wt + 1))
	done
}

# wait_grep PATTERN FILE [TENTHS]: wait (default 5 s) for a line of FILE
# to match the basic regular expression PATTERN (a process may log a
# moment after the peer saw the result); 1 if none did in time.
wait_grep() {
	_wt=0
	until grep -q "$1" "$2" 2>/dev/null; do
		[ $_wt -ge "${3:-50}" ] && return 1
		sleep 0.1
		_wt=$((_wt + 1))
	done
}
