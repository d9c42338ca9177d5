/*
 * replay.c - main() for the fuzz harnesses in an ordinary build: run
 * LLVMFuzzerTestOneInput() once per file named on the command line (a
 * directory stands for the files in it), as libFuzzer does when given
 * files.  A harness that finds a broken contract aborts, so a regression
 * input fails `make check` (tests/fuzz/replay.sh), not only contrib/fuzz.sh.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Run the harness on one file; 0, or -1 if it cannot be read. */
static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	int rc = -1;

	if (f == NULL)
		goto out;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	/* one byte more so that an empty file has a buffer too */
	if ((buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto out;
	(void)LLVMFuzzerTestOneInput(buf, (size_t)n);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "replay: cannot read %s\n", path);
	free(buf);
	if (f != NULL)
		fclose(f);
	return rc;
}

int
main(int argc, char **argv)
{
	struct dirent *e;
	struct stat st;
	char path[4096];
	DIR *d;
	int i, files = 0, bad = 0;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
			bad |= replay_file(argv[i]);
			files++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			fprintf(stderr, "replay: cannot open %s\n", argv[i]);
			bad = -1;
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
			    e->d_name);
			bad |= replay_file(path);
			files++;
		}
		closedir(d);
	}
	printf("replay: %d inputs\n", files);
	return bad == 0 && files > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
