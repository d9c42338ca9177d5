/* multiaddr.c - placeholder until implemented. */
#include "multiaddr.h"
