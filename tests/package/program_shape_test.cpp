// The shape of the corral program as linked (CMakeLists.txt, "Start-up cost"):
// with CORRAL_STATIC_RUNTIME it has no program interpreter (no dynamic loader
// at each of the thousands of `corral run` starts), and it is a static PIE,
// not a plain -static program: -static links crtbeginT.o, whose registered
// .eh_frame is sorted at the first exception (+3.5 ms to `corral --version`).
// Either way the unwinder must find frames through PT_GNU_EH_FRAME.
#include <elf.h>
#include <gtest/gtest.h>

#include <fstream>
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

TEST(ProgramShape, FramesAreFoundByHeaderAndStaticMeansStaticPie) {
    auto s = read_shape(CORRAL_EXE);
    ASSERT_NE(s.type, 0) << CORRAL_EXE << ": not a 64-bit ELF file";
    EXPECT_TRUE(s.eh_frame_hdr) << "no PT_GNU_EH_FRAME: each first exception sorts every FDE";
    if (!s.interp)
        EXPECT_EQ(s.type, ET_DYN) << "statically linked but not a PIE (-static, not -static-pie)";
#ifdef CORRAL_STATIC_RUNTIME_ON
    EXPECT_FALSE(s.interp) << "CORRAL_STATIC_RUNTIME is ON but the program has a dynamic loader";
#endif
}

}  // namespace
