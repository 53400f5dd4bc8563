// touch_memory MIB [HOLD_MS]: allocate MIB mebibytes, write every page (so they
// are really resident and charged to the cgroup), hold them HOLD_MS
// milliseconds (default 0), then exit 0.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <time.h>

int main(int argc, char** argv) {
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr, "usage: touch_memory MIB [HOLD_MS]\n");
        return 2;
    }
    long mib = std::strtol(argv[1], nullptr, 10);
    if (mib <= 0) return 2;
    std::vector<char*> chunks;
    for (long i = 0; i < mib; ++i) {
        char* c = static_cast<char*>(std::malloc(1 << 20));
        if (!c) return 3;
        std::memset(c, static_cast<int>(i & 0xff) | 1, 1 << 20);
        chunks.push_back(c);
    }
    long sum = 0;
    for (char* c : chunks)
        sum += c[4096];
    std::printf("touched %ld MiB (%ld)\n", mib, sum);
    std::fflush(stdout);
    if (argc == 3) {
        long ms = std::strtol(argv[2], nullptr, 10);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) != 0) {
        }
    }
    return 0;
}
