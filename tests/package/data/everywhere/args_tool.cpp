// Prints its arguments as argc=N [arg1][arg2]... (one line).
#include <cstdio>
int main(int argc, char** argv) {
    std::printf("argc=%d ", argc);
    for (int i = 1; i < argc; ++i)
        std::printf("[%s]", argv[i]);
    std::printf("\n");
    return 0;
}
