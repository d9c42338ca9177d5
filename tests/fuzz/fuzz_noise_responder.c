/*
 * fuzz_noise_responder.c - Noise XX responder reading fuzzed msg 1,
 * msg 3 and transport frames (see fuzz_noise.h).
 */
#include "fuzz_noise.h"

/* One run of the responder. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_noise_run(NOISE_RESPONDER, data, size);
	return 0;
}
