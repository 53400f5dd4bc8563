// quickstart_check: a stand-in for a real test. It prints what Corral gave it
// (scratch directory, granted resources) and optionally touches memory or
// writes a file into its scratch directory.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

static std::string env_or(const char* name, const char* fallback) {
    const char* value = std::getenv(name);
    return value != nullptr ? value : fallback;
}

int main(int argc, char** argv) {
    long touch_mib = 0;
    long write_mib = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--touch-mib") == 0) {
            touch_mib = std::strtol(argv[i + 1], nullptr, 10);
        } else if (std::strcmp(argv[i], "--write-mib") == 0) {
            write_mib = std::strtol(argv[i + 1], nullptr, 10);
        } else {
            std::cerr << "usage: quickstart_check [--touch-mib N] [--write-mib N]\n";
            return 2;
        }
    }
    std::cout << "TMPDIR=" << env_or("TMPDIR", "(unset)") << "\n"
              << "CORRAL_TEST_ID=" << env_or("CORRAL_TEST_ID", "(unset)") << "\n"
              << "CTEST_RESOURCE_GROUP_COUNT=" << env_or("CTEST_RESOURCE_GROUP_COUNT", "(unset)")
              << "\n";
    if (touch_mib > 0) {
        std::vector<char> block(static_cast<size_t>(touch_mib) << 20);
        for (size_t i = 0; i < block.size(); i += 4096)
            block[i] = 1;  // really touch it
        std::cout << "touched " << touch_mib << " MiB\n";
    }
    if (write_mib > 0) {
        std::string path = env_or("TMPDIR", "/tmp") + std::string("/quickstart.bin");
        std::ofstream out(path, std::ios::binary);
        std::string chunk(1 << 20, 'x');
        for (long i = 0; i < write_mib && out; ++i)
            out.write(chunk.data(), chunk.size());
        out.close();
        if (!out) {
            std::cerr << "cannot write " << path << "\n";
            return 1;
        }
        std::remove(path.c_str());
        std::cout << "wrote " << write_mib << " MiB to " << path << "\n";
    }
    return 0;
}
