/*
 * Run a fuzz target's LLVMFuzzerTestOneInput() over files, without
 * libFuzzer: how `make check` replays the seed corpora and the
 * regression inputs under tests/fuzz/ with the ordinary compiler (and
 * under SANITIZE=1 or VALGRIND=1 like everything else).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int
main(int argc, char **argv)
{
	unsigned char *buf;
	size_t n;
	FILE *f;
	int i;

	buf = malloc(1 << 21);
	if (buf == NULL)
		return 1;
	for (i = 1; i < argc; i++) {
		if ((f = fopen(argv[i], "rb")) == NULL) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, 1 << 21, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	free(buf);
	printf("%s: %d checks, 0 failed\n", name(argv[0]), argc - 1);
	return 0;
}
