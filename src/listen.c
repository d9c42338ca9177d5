/* listen.c - placeholder until implemented. */
#include "listen.h"
