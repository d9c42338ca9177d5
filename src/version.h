/*
 * version.h - what this binary is (L0): the release version from
 * configure.ac's AC_INIT and, when it was built from a git checkout, the
 * source revision (`git describe --always --dirty`, made at build time
 * into the build tree's revision.h; empty from a release tarball).
 */
#ifndef PEERLOCK_VERSION_H
#define PEERLOCK_VERSION_H

#include <stddef.h>

/* The release version, e.g. "0.1.0". */
const char *version_release(void);

/* The git revision, e.g. "9fdb25f-dirty", or "" when not built from git. */
const char *version_revision(void);

/*
 * "0.1.0 (git 9fdb25f)" or "0.1.0" into buf (cap bytes; 96 suffice).
 * Returns buf.
 */
char *version_describe(char *buf, size_t cap);

#endif
