/* conn.c - placeholder until implemented. */
#include "conn.h"
