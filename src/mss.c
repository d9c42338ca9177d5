/* mss.c - placeholder until implemented. */
#include "mss.h"
