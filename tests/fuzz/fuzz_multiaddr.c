/*
 * fuzz_multiaddr.c - text multiaddrs and host:port; whatever parses must
 * print canonically, parse back to the same address and encode to bytes.
 */
#include "fuzz.h"

#include "multiaddr.h"

/* Compare the fields multiaddr_parse() fills. */
static bool
same(const struct multiaddr *a, const struct multiaddr *b)
{
	return a->kind == b->kind && strcmp(a->host, b->host) == 0 &&
	    a->port == b->port && a->has_peer == b->has_peer &&
	    (!a->has_peer || peer_id_equal(&a->peer, &b->peer));
}

/* Parse one address. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bin[MULTIADDR_BYTES_MAX];
	char text[MULTIADDR_STR_MAX], again[MULTIADDR_STR_MAX], err[256];
	struct multiaddr ma, back;
	char *s;
	int n;

	if ((s = fuzz_strndup(data, size)) == NULL)
		return 0;
	if (multiaddr_parse(s, &ma, err, sizeof(err)) != 0) {
		FUZZ_CHECK(strncmp(err, "multiaddr: ", 11) == 0);
		free(s);
		return 0;
	}
	free(s);
	FUZZ_CHECK(memchr(ma.host, '\0', sizeof(ma.host)) != NULL);
	multiaddr_to_string(&ma, text, sizeof(text));
	FUZZ_CHECK(multiaddr_parse(text, &back, err, sizeof(err)) == 0);
	FUZZ_CHECK(same(&ma, &back));
	multiaddr_to_string(&back, again, sizeof(again));
	FUZZ_CHECK(strcmp(text, again) == 0);
	n = multiaddr_to_bytes(&ma, bin, sizeof(bin));
	FUZZ_CHECK(n > 0 && n <= MULTIADDR_BYTES_MAX);
	return 0;
}
