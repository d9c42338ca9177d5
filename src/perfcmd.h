/*
 * perfcmd.h - `peerlock perf` (L4): measure a node-mode session to a
 * libp2p peer with the perf protocol (/perf/1.0.0, perf.h).
 */
#ifndef PEERLOCK_PERFCMD_H
#define PEERLOCK_PERFCMD_H

/*
 * Run `peerlock perf` with its arguments (argv[0] is "perf").  Prints
 * the result (JSON on stdout, a human line on stderr).  Returns the exit
 * status: 0 measured, 1 failed, 2 usage.
 */
int perfcmd_main(int argc, char **argv);

#endif
