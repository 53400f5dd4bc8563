// hold_memory MIB MS: allocate MIB mebibytes, write every page (resident,
// charged to the cgroup, not reclaimable), hold them MS milliseconds, exit 0.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: hold_memory MIB MS\n");
        return 2;
    }
    size_t bytes = static_cast<size_t>(std::strtoul(argv[1], nullptr, 10)) << 20;
    char* p = static_cast<char*>(std::malloc(bytes));
    if (!p) return 3;
    std::memset(p, 1, bytes);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::strtol(argv[2], nullptr, 10)));
    std::printf("held %zu MiB (%d)\n", bytes >> 20, p[bytes / 2]);
    std::free(p);
    return 0;
}
