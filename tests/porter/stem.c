/* tests/porter/stem: one word a line in, its stem (plugins/scorers/porter) a line out. */
#include <stdio.h>
#include <string.h>

#include "porter.h"

int main(void)
{
	char line[4096], out[4097];
	while (fgets(line, sizeof line, stdin)) {
		size_t n = strcspn(line, "\n");
		size_t k = porter_stem(line, n, out);
		fwrite(out, 1, k, stdout);
		putchar('\n');
	}
	return fclose(stdout) != 0;
}
