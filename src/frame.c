/* frame.c - placeholder until implemented. */
#include "frame.h"
