/*
 * fuzz_config.c - the INI configuration parser on arbitrary text; an
 * accepted config must be internally consistent, a refused one must say
 * where ("name:line: problem").
 */
#include "fuzz.h"

#include "config.h"

/* Parse one file's worth of text. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c;
	char err[512], *s;
	size_t i;

	if ((s = fuzz_strndup(data, size)) == NULL)
		return 0;
	c = config_parse(s, "fuzz.conf", err, sizeof(err));
	free(s);
	if (c == NULL) {
		FUZZ_CHECK(strncmp(err, "fuzz.conf:", 10) == 0);
		return 0;
	}
	FUZZ_CHECK(c->nsecurity >= 1 && c->nsecurity <= SEC_MAX);
	FUZZ_CHECK(c->nforwards <= CONFIG_MAX_FORWARDS);
	FUZZ_CHECK(c->nexposes <= CONFIG_MAX_EXPOSES);
	for (i = 0; i < c->nforwards; i++)
		FUZZ_CHECK(c->forwards[i].peer.has_peer);
	for (i = 0; i < c->nexposes; i++) {
		FUZZ_CHECK(c->exposes[i].any || c->exposes[i].npeers > 0);
		if (c->exposes[i].npeers > 0)
			FUZZ_CHECK(config_route(c,
			    &c->exposes[i].peers[0]) != NULL);
	}
	config_free(c);
	return 0;
}
