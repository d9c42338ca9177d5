/* peerid.c - placeholder until implemented. */
#include "peerid.h"
