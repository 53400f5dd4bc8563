/* Allocates and touches MIB MiB, holds it for MS milliseconds, frees it: one
 * memory-bound "test" for bench/memory/run.py. Usage: alloc MIB MS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: alloc MIB MS\n");
        return 2;
    }
    size_t bytes = (size_t)strtoul(argv[1], NULL, 10) << 20;
    long ms = strtol(argv[2], NULL, 10);
    char* p = malloc(bytes);
    if (!p) return 3;
    memset(p, 1, bytes); /* touch every page: resident, charged to the cgroup */
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
    volatile char sink = p[bytes / 2];
    (void)sink;
    free(p);
    return 0;
}
