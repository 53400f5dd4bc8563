// --io-bench: bounded in bytes and time, fsync included, nothing left behind.
#include <gtest/gtest.h>

#include "probe/io_bench.hpp"
#include "probe/probe.hpp"
#include "scratch_test_support.hpp"

namespace corral {
namespace {

using test::TempDir;
using test::TestMount;

TEST(IoBench, ByteBoundStopsTheWrite) {
    TempDir dir("/var/tmp");
    ASSERT_TRUE(dir.ok());
    IoBenchLimits limits;
    limits.max_bytes = 8ull << 20;
    limits.max_time = std::chrono::seconds(60);  // so only the byte bound can stop it
    limits.chunk_bytes = 2ull << 20;
    auto r = measure_write_throughput(dir.path(), std::nullopt, limits);
    ASSERT_TRUE(r.mb_per_s.has_value()) << r.detail;
    EXPECT_GT(*r.mb_per_s, 0.0);
    EXPECT_EQ(r.bytes, 8ull << 20);
    EXPECT_GT(r.seconds, 0.0);
    EXPECT_NEAR(*r.mb_per_s, static_cast<double>(r.bytes) / r.seconds / 1e6, 1e-6);
    EXPECT_NE(r.detail.find("wrote 8.0 MiB"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("fsync after every 2 MiB"), std::string::npos) << r.detail;
    EXPECT_TRUE(test::entries(dir.path()).empty()) << "the benchmark left files behind";
}

TEST(IoBench, TimeBoundStopsTheWriteAfterOneChunk) {
    TempDir dir("/var/tmp");
    ASSERT_TRUE(dir.ok());
    IoBenchLimits limits;
    limits.max_bytes = 1ull << 30;
    limits.max_time = std::chrono::milliseconds(0);  // expired at the first check
    limits.chunk_bytes = 1ull << 20;
    auto r = measure_write_throughput(dir.path(), std::nullopt, limits);
    ASSERT_TRUE(r.mb_per_s.has_value()) << r.detail;
    EXPECT_EQ(r.bytes, 1ull << 20);
    EXPECT_TRUE(test::entries(dir.path()).empty());
}

TEST(IoBench, NeverWritesMoreThanHalfTheFreeSpace) {
    TempDir dir("/var/tmp");
    ASSERT_TRUE(dir.ok());
    IoBenchLimits limits;
    limits.max_time = std::chrono::seconds(60);
    auto r = measure_write_throughput(dir.path(), 6ull << 20, limits);
    ASSERT_TRUE(r.mb_per_s.has_value()) << r.detail;
    EXPECT_EQ(r.bytes, 3ull << 20);
    auto tiny = measure_write_throughput(dir.path(), 1ull << 20, limits);
    EXPECT_FALSE(tiny.mb_per_s.has_value());
    EXPECT_NE(tiny.detail.find("not measured"), std::string::npos) << tiny.detail;
}

TEST(IoBench, MissingDirectoryIsNotMeasured) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    auto r = measure_write_throughput(dir.path() + "/missing");
    EXPECT_FALSE(r.mb_per_s.has_value());
    EXPECT_NE(r.detail.find("ENOENT"), std::string::npos) << r.detail;
}

TEST(IoBench, FullFilesystemIsReportedNotInvented) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
    TestMount small("size=2m");
    ASSERT_TRUE(small.mounted()) << small.error();
    IoBenchLimits limits;
    limits.max_time = std::chrono::seconds(60);
    // Claim more free space than there is, so the write runs into ENOSPC.
    auto r = measure_write_throughput(small.path(), 64ull << 20, limits);
    EXPECT_FALSE(r.mb_per_s.has_value());
    EXPECT_NE(r.detail.find("ENOSPC"), std::string::npos) << r.detail;
    EXPECT_TRUE(test::entries(small.path()).empty());
}

TEST(IoBench, CorralProbeIoBenchMeasuresEachFilesystemOnceAndSkipsReadOnly) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount tmpfs filesystems";
    TestMount rw("size=160m");
    ASSERT_TRUE(rw.mounted()) << rw.error();
    TestMount ro("ro,size=1m");
    ASSERT_TRUE(ro.mounted()) << ro.error();
    const std::string a = rw.path() + "/a", b = rw.path() + "/b";
    ASSERT_EQ(::mkdir(a.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(b.c_str(), 0755), 0);

    auto started = std::chrono::steady_clock::now();
    auto facts = test::corral_probe_json("--io-bench --scratch " + test::shell_quote(a) +
                                         " --scratch " + test::shell_quote(b) + " --scratch " +
                                         test::shell_quote(ro.path()));
    auto took = std::chrono::steady_clock::now() - started;
    // Generous: bounded at 300 ms per filesystem, never the 300 s test timeout.
    EXPECT_LT(took, std::chrono::seconds(30));

    auto ea = test::scratch_entry(facts, a);
    ASSERT_TRUE(ea["write_mb_per_s"].is_number()) << ea.dump(2);
    EXPECT_GT(ea["write_mb_per_s"].get<double>(), 0.0);
    EXPECT_NE(ea.value("write_detail", "").find("fsync"), std::string::npos);
    auto eb = test::scratch_entry(facts, b);
    EXPECT_EQ(eb["write_mb_per_s"], ea["write_mb_per_s"]);
    EXPECT_NE(eb.value("write_detail", "").find("[measured in " + a + "]"), std::string::npos)
        << eb.dump(2);
    auto er = test::scratch_entry(facts, ro.path());
    EXPECT_TRUE(er["write_mb_per_s"].is_null());
    EXPECT_EQ(er.value("write_detail", ""), "not measured: read-only filesystem");

    EXPECT_TRUE(test::entries(a).empty());
    EXPECT_TRUE(test::entries(b).empty());

    // Without --io-bench nothing is measured.
    auto quiet = test::corral_probe_json("--scratch " + test::shell_quote(a));
    auto qa = test::scratch_entry(quiet, a);
    EXPECT_TRUE(qa["write_mb_per_s"].is_null());
    EXPECT_EQ(qa.value("write_detail", "x"), "");
}

}  // namespace
}  // namespace corral
