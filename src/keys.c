/* keys.c - placeholder until implemented. */
#include "keys.h"
