/*
 * fuzz_noise_initiator.c - Noise XX initiator: writes msg 1, then reads
 * fuzzed msg 2 and transport frames (see fuzz_noise.h).
 */
#include "fuzz_noise.h"

/* One run of the initiator. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_noise_run(NOISE_INITIATOR, data, size);
	return 0;
}
