// An unreadable limit file (EACCES) is not "no limit": the probe says unknown.
// The read error is injected through the Host interface over a recorded tree.
#include <cerrno>

#include <gtest/gtest.h>

#include "probe/probe.hpp"

namespace corral {
namespace {

class DenyingHost : public RecordedHost {
  public:
    using RecordedHost::RecordedHost;
    std::string denied;  // file name whose reads fail with EACCES
    Read<std::string> read_text(const std::filesystem::path& host_path) const override {
        if (host_path.filename() == denied)
            return Read<std::string>::fail(host_path.string() + ": Permission denied", EACCES);
        return RecordedHost::read_text(host_path);
    }
};

TEST(UnreadableLimit, StaysUnknownInsteadOfNoLimit) {
    DenyingHost host(std::string(CORRAL_TEST_DATA_DIR) + "/hosts/cgroup-v2-leaf-limit");
    auto before = probe_memory(host);
    ASSERT_TRUE(before.limit_bytes) << "the tree has a memory.max limit";
    host.denied = "memory.max";
    auto m = probe_memory(host);
    EXPECT_FALSE(m.limit_bytes);
    EXPECT_EQ(m.limit_source.rfind("unknown: ", 0), 0u) << m.limit_source;
    EXPECT_NE(m.limit_source.find("Permission denied"), std::string::npos) << m.limit_source;
}

}  // namespace
}  // namespace corral
