/* varint.c - placeholder until implemented. */
#include "varint.h"
