// The shape of the corral program as linked (CMakeLists.txt, "Start-up cost"):
// with CORRAL_STATIC_RUNTIME it has no program interpreter (no dynamic loader
// at each of the thousands of `corral run` starts), and it is not a PIE unless
// CORRAL_PIE asks (a static PIE relocates itself at every start). Either way
// the unwinder finds frames through PT_GNU_EH_FRAME and the program never
// registers its .eh_frame: GCC's crtbeginT.o, which plain -static links, does
// (its symbol __EH_FRAME_BEGIN__ marks it), and the unwinder then sorts every
// FDE at the first exception (+3.5 ms to `corral --version`).
// With CORRAL_HOT_PATH_ORDER the functions of src/cli/hot_path.order lie side
// by side, in one stretch of the text.
#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

struct Shape {
    uint16_t type = 0;
    bool interp = false, eh_frame_hdr = false;
};

Shape read_shape(const char* path) {
    std::ifstream in(path, std::ios::binary);
    Elf64_Ehdr eh{};
    in.read(reinterpret_cast<char*>(&eh), sizeof eh);
    Shape s;
    if (!in || eh.e_ident[EI_CLASS] != ELFCLASS64) return s;
    s.type = eh.e_type;
    std::vector<Elf64_Phdr> ph(eh.e_phnum);
    in.seekg(static_cast<std::streamoff>(eh.e_phoff));
    in.read(reinterpret_cast<char*>(ph.data()),
            static_cast<std::streamsize>(ph.size() * sizeof(Elf64_Phdr)));
    for (const auto& p : ph) {
        s.interp |= p.p_type == PT_INTERP;
        s.eh_frame_hdr |= p.p_type == PT_GNU_EH_FRAME;
    }
    return s;
}

// Symbols of the program's .symtab (functions with a size only, or all):
// name -> {address, size}. Reads the section headers, the symbol table and its
// strings, not the whole file (a RelWithDebInfo program is mostly debug
// information).
std::map<std::string, std::pair<uint64_t, uint64_t>> read_symbols(const char* path,
                                                                  bool functions_only) {
    std::ifstream in(path, std::ios::binary);
    auto read_at = [&](uint64_t offset, void* to, uint64_t size) {
        in.seekg(static_cast<std::streamoff>(offset));
        in.read(static_cast<char*>(to), static_cast<std::streamsize>(size));
        return static_cast<bool>(in);
    };
    std::map<std::string, std::pair<uint64_t, uint64_t>> out;
    Elf64_Ehdr eh{};
    if (!read_at(0, &eh, sizeof eh)) return out;
    std::vector<Elf64_Shdr> sh(eh.e_shnum);
    if (!read_at(eh.e_shoff, sh.data(), sh.size() * sizeof(Elf64_Shdr))) return out;
    for (const auto& s : sh) {
        if (s.sh_type != SHT_SYMTAB || s.sh_link >= sh.size()) continue;
        std::vector<Elf64_Sym> symbols(s.sh_size / sizeof(Elf64_Sym));
        std::string strings(sh[s.sh_link].sh_size, '\0');
        if (!read_at(s.sh_offset, symbols.data(), symbols.size() * sizeof(Elf64_Sym)) ||
            !read_at(sh[s.sh_link].sh_offset, strings.data(), strings.size()))
            return out;
        for (const auto& sym : symbols) {
            if (functions_only && (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_size == 0))
                continue;
            if (sym.st_name >= strings.size()) continue;
            out.emplace(std::string(strings.c_str() + sym.st_name),
                        std::make_pair(sym.st_value, sym.st_size));
        }
    }
    return out;
}

TEST(ProgramShape, FramesAreFoundByHeaderNeverRegisteredAndStaticIsNoPie) {
    auto s = read_shape(CORRAL_EXE);
    ASSERT_NE(s.type, 0) << CORRAL_EXE << ": not a 64-bit ELF file";
    EXPECT_TRUE(s.eh_frame_hdr) << "no PT_GNU_EH_FRAME: each first exception sorts every FDE";
    auto symbols = read_symbols(CORRAL_EXE, false);
    ASSERT_FALSE(symbols.empty()) << "no symbol table to check";
    EXPECT_EQ(symbols.count("__EH_FRAME_BEGIN__"), 0u)
        << "linked with crtbeginT.o: its .eh_frame is registered and sorted at the first "
           "exception";
#ifdef CORRAL_STATIC_RUNTIME_ON
    EXPECT_FALSE(s.interp) << "CORRAL_STATIC_RUNTIME is ON but the program has a dynamic loader";
#ifdef CORRAL_PIE_ON
    EXPECT_EQ(s.type, ET_DYN) << "CORRAL_PIE is ON but the program is not a PIE";
#else
    EXPECT_EQ(s.type, ET_EXEC) << "a static PIE: it relocates itself at every start";
#endif
#endif
}

// The launch path is one stretch of the program, not spread over all of its
// text: of the listed functions the program has, most lie within their own
// total size (plus alignment) of the first. lld cannot move a function alone
// that shares its section with others (some of libc's): 94 % lie there in a
// Release build and in RelWithDebInfo; unordered, 29 %.
TEST(ProgramShape, TheLaunchPathIsLinkedSideBySide) {
#ifndef CORRAL_HOT_PATH_ORDER_ON
    GTEST_SKIP() << "CORRAL_HOT_PATH_ORDER is OFF: a sanitizer build, or lld cannot link here "
                    "(./bootstrap installs it)";
#endif
    auto functions = read_symbols(CORRAL_EXE, true);
    ASSERT_FALSE(functions.empty()) << CORRAL_EXE << ": no symbol table (stripped?)";
    std::ifstream list(CORRAL_HOT_PATH_ORDER_FILE);
    ASSERT_TRUE(list) << "cannot read " << CORRAL_HOT_PATH_ORDER_FILE;
    std::vector<std::pair<uint64_t, uint64_t>> hot;
    for (std::string line; std::getline(list, line);) {
        if (line.empty() || line[0] == '#') continue;
        if (auto it = functions.find(line); it != functions.end()) hot.push_back(it->second);
    }
    ASSERT_GE(hot.size(), 200U) << "the program has few of the listed functions: "
                                   "run bench/run_overhead/hot_path_order.py";
    uint64_t total = 0, first = UINT64_MAX;
    for (const auto& [address, size] : hot) {
        total += size;
        first = std::min(first, address);
    }
    const uint64_t end = first + total + total / 4 + 64 * 1024;
    const auto inside = std::count_if(hot.begin(), hot.end(),
                                      [&](const auto& f) { return f.first + f.second <= end; });
    EXPECT_GE(inside * 100, static_cast<long>(hot.size()) * 80)
        << inside << " of " << hot.size() << " listed functions within " << (end - first) / 1024
        << " KiB of the first: the ordering was not applied";
}

}  // namespace
