#ifndef PEERLOCK_CONN_H
#define PEERLOCK_CONN_H
#endif
