/* noise.c - placeholder until implemented. */
#include "noise.h"
