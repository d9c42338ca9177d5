/*
 * version.c - the release version and the git revision of this build.
 * Only this file includes the generated headers, so a new commit
 * recompiles one file.
 */
#include "version.h"

#include <stdio.h>

#include "autoconf.h"
#include "revision.h"

/* The release version. */
const char *
version_release(void)
{
	return PACKAGE_VERSION;
}

/* The git revision, or "". */
const char *
version_revision(void)
{
	return PEERLOCK_REVISION;
}

/* "VERSION (git REV)" or "VERSION". */
char *
version_describe(char *buf, size_t cap)
{
	if (PEERLOCK_REVISION[0] != '\0')
		snprintf(buf, cap, "%s (git %s)", PACKAGE_VERSION,
		    PEERLOCK_REVISION);
	else
		snprintf(buf, cap, "%s", PACKAGE_VERSION);
	return buf;
}
