/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The regression driver: a main() that feeds files to a fuzz target's
 * LLVMFuzzerTestOneInput(), so that the seed corpus and the crash inputs
 * kept in regressions/ run as plain tests in every build (gcc, clang,
 * ASan, TSan), without libFuzzer.
 *
 *   fuzz-api-driver PATH...   each PATH a file, or a directory whose files
 *                             (not those starting with '.') run in name
 *                             order
 *
 * Output: TAP, one line per input.  A failed check aborts the process (the
 * target prints what failed), which meson reports as a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int ran;

static void run_file(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f = fopen(path, "rb");

	if (!f) {
		printf("not ok %d - %s # %s\n", ++ran, path, strerror(errno));
		exit(1);
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			if (!buf) {
				fprintf(stderr, "out of memory\n");
				exit(1);
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	/* announced first: a crash then names its input */
	fprintf(stderr, "# running %s (%zu bytes)\n", path, len);
	fflush(stderr);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	printf("ok %d - %s\n", ++ran, path);
	fflush(stdout);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *path)
{
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d) {
		printf("not ok %d - %s # %s\n", ++ran, path, strerror(errno));
		exit(1);
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			names = realloc(names, cap * sizeof(*names));
			if (!names) {
				fprintf(stderr, "out of memory\n");
				exit(1);
			}
		}
		if (asprintf(&names[n], "%s/%s", path, de->d_name) < 0) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		run_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	struct stat st;
	int i;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	printf("TAP version 13\n");
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			run_dir(argv[i]);
		else
			run_file(argv[i]);
	}
	printf("1..%d\n", ran);
	if (!ran) {
		printf("# no input\n");
		return 77;
	}
	return 0;
}
