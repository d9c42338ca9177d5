/* log.c - placeholder until implemented. */
#include "log.h"
