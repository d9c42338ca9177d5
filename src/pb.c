/* pb.c - placeholder until implemented. */
#include "pb.h"
