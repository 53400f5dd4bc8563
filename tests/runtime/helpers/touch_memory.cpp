// touch_memory MIB: allocate MIB mebibytes, write every page (so they are
// really resident and charged to the cgroup), then exit 0.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: touch_memory MIB\n");
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
    return 0;
}
