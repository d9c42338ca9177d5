/* secchan.c - placeholder until implemented. */
#include "secchan.h"
