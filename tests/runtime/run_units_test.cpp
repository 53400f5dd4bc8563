// Unit tests of the launcher's pieces: CTest grant parsing and translation,
// sizes, lock names, plan hints, records, and the scratch walker against real
// symlinks and a real tmpfs mount.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "runtime/host_lock.hpp"
#include "runtime/launcher.hpp"
#include "runtime/records.hpp"
#include "runtime/scratch_dir.hpp"

namespace fs = std::filesystem;
using namespace corral;

namespace {

launcher::EnvLookup env_of(std::map<std::string, std::string> m) {
    return [m](const std::string& k) -> std::optional<std::string> {
        auto it = m.find(k);
        if (it == m.end()) return std::nullopt;
        return it->second;
    };
}

fs::path unique_dir(const std::string& what) {
    static int counter = 0;
    auto p =
        fs::temp_directory_path() / ("corral-r1-unit-" + what + "-" + std::to_string(::getpid()) +
                                     "-" + std::to_string(counter++));
    fs::create_directories(p);
    return p;
}

void write(const fs::path& p, const std::string& text) {
    std::ofstream(p) << text;
}

}  // namespace

TEST(CtestResources, ParsesEveryGroupAndType) {
    auto grants = launcher::parse_ctest_resources(env_of({
        {"CTEST_RESOURCE_GROUP_COUNT", "2"},
        {"CTEST_RESOURCE_GROUP_0", "gpus,mem_mib"},
        {"CTEST_RESOURCE_GROUP_0_GPUS", "id:nvidia0,slots:1;id:nvidia2,slots:1"},
        {"CTEST_RESOURCE_GROUP_0_MEM_MIB", "id:mem,slots:512"},
        {"CTEST_RESOURCE_GROUP_1", "heavy_io"},
        {"CTEST_RESOURCE_GROUP_1_HEAVY_IO", "id:fs_ci,slots:1"},
    }));
    ASSERT_EQ(grants.size(), 4u);
    EXPECT_EQ(grants[0].group, 0);
    EXPECT_EQ(grants[0].type, "gpus");
    EXPECT_EQ(grants[0].id, "nvidia0");
    EXPECT_EQ(grants[1].id, "nvidia2");
    EXPECT_EQ(grants[2].type, "mem_mib");
    EXPECT_EQ(grants[2].slots, 512);
    EXPECT_EQ(grants[3].group, 1);
    EXPECT_EQ(grants[3].id, "fs_ci");
}

TEST(CtestResources, NoCountMeansNoGrants) {
    EXPECT_TRUE(launcher::parse_ctest_resources(env_of({})).empty());
}

TEST(CtestResources, MalformedValuesNameTheVariable) {
    auto expect_error = [](std::map<std::string, std::string> env, const std::string& needle) {
        try {
            launcher::parse_ctest_resources(env_of(env));
            ADD_FAILURE() << "no error for " << needle;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    expect_error({{"CTEST_RESOURCE_GROUP_COUNT", "two"}}, "CTEST_RESOURCE_GROUP_COUNT");
    expect_error({{"CTEST_RESOURCE_GROUP_COUNT", "1"}}, "CTEST_RESOURCE_GROUP_0 is not set");
    expect_error({{"CTEST_RESOURCE_GROUP_COUNT", "1"}, {"CTEST_RESOURCE_GROUP_0", "gpus"}},
                 "CTEST_RESOURCE_GROUP_0_GPUS is not set");
    expect_error({{"CTEST_RESOURCE_GROUP_COUNT", "1"},
                  {"CTEST_RESOURCE_GROUP_0", "gpus"},
                  {"CTEST_RESOURCE_GROUP_0_GPUS", "id:0;slots:1"}},
                 "expected id:ID,slots:N");
}

TEST(CtestResources, TranslatesGpusMemoryAndHeavyIo) {
    std::vector<records::GrantedResource> grants = {
        {0, "gpus", "nvidia1", 1},  {0, "gpus", "amd0", 1},     {1, "gpus", "nvidia3", 1},
        {0, "mem_mib", "mem", 256}, {1, "mem_mib", "mem", 256}, {0, "heavy_io", "fs_ci", 1},
    };
    auto t = launcher::translate_grants(grants, {{"fs_ci", "/ci/scratch"}});
    std::map<std::string, std::string> env(t.env.begin(), t.env.end());
    EXPECT_EQ(env["CUDA_VISIBLE_DEVICES"], "1,3");
    EXPECT_EQ(env["HIP_VISIBLE_DEVICES"], "0");
    EXPECT_EQ(env["CORRAL_MEMORY_BYTES"], std::to_string(512ull * 1024 * 1024));
    ASSERT_TRUE(t.scratch_root);
    EXPECT_EQ(*t.scratch_root, "/ci/scratch");
    // No plan handles and no such GPUs on this host: each is handed over by its
    // index, and said so (src/runtime/gpu_grant.hpp).
    ASSERT_EQ(t.notes.size(), 3u);
    for (const auto& note : t.notes)
        EXPECT_NE(note.find("handed over as index"), std::string::npos) << note;
}

TEST(CtestResources, UnmappedHeavyIoIsSaidNotGuessed) {
    auto t = launcher::translate_grants({{0, "heavy_io", "fs_x", 1}}, {});
    EXPECT_FALSE(t.scratch_root);
    ASSERT_EQ(t.notes.size(), 1u);
    EXPECT_NE(t.notes[0].find("fs_x"), std::string::npos);
}

TEST(HostLocks, NamesAndSlotRequestsAreValidated) {
    EXPECT_TRUE(locks::valid_name("pkg-cache.v2_x"));
    EXPECT_FALSE(locks::valid_name("a/b"));
    EXPECT_FALSE(locks::valid_name(".."));
    EXPECT_FALSE(locks::valid_name(""));
    auto s = locks::parse_slot_request("heavy_vm:4");
    EXPECT_EQ(s.type, "heavy_vm");
    EXPECT_EQ(s.count, 4);
    EXPECT_THROW(locks::parse_slot_request("heavy_vm"), std::invalid_argument);
    EXPECT_THROW(locks::parse_slot_request("heavy_vm:0"), std::invalid_argument);
    EXPECT_THROW(locks::parse_slot_request("../x:2"), std::invalid_argument);
}

TEST(PlanHints, ReadsScratchMultiplierAndHeavyIoPaths) {
    auto dir = unique_dir("plan");
    write(dir / "plan.json", R"({"schema":"corral.plan/1","scratch_dir":"/fast",
        "timeout_multiplier":2.5,
        "resources":[{"name":"mem_mib","ids":[{"id":"mem","slots":100}]},
                     {"name":"heavy_io","ids":[{"id":"fs_a","slots":4,"path":"/a/tmp"}]}]})");
    auto h = launcher::load_plan_hints((dir / "plan.json").string());
    EXPECT_EQ(h.scratch_dir, "/fast");
    EXPECT_EQ(h.timeout_multiplier, 2.5);
    EXPECT_EQ(h.heavy_io_paths["fs_a"], "/a/tmp");
    write(dir / "bad.json", "{\n \"scratch_dir\": \n}");
    try {
        launcher::load_plan_hints((dir / "bad.json").string());
        ADD_FAILURE() << "bad JSON accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
    }
    fs::remove_all(dir);
}

TEST(Records, OneWellFormedLinePerAppend) {
    auto dir = unique_dir("records");
    records::RunRecord r;
    r.name = "t";
    r.command = {"sh", "-c", "echo \"quoted\nnewline\""};
    r.exit_code = 0;
    r.leaked = {{42, "sleep 300"}};
    records::append_line((dir / "r.jsonl").string(), records::to_json(r).dump());
    records::append_line((dir / "r.jsonl").string(), records::to_json(r).dump());
    std::ifstream in(dir / "r.jsonl");
    std::string line;
    int lines = 0;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        EXPECT_EQ(j["schema"], "corral.record/1");
        EXPECT_EQ(j["leaked"][0]["pid"], 42);
        EXPECT_EQ(j["command"][2], "echo \"quoted\nnewline\"");
        ++lines;
    }
    EXPECT_EQ(lines, 2);
    EXPECT_EQ(records::iso8601_utc(
                  std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123))),
              "2023-11-14T22:13:20.123Z");
    fs::remove_all(dir);
}

TEST(ScratchDir, IdsAreShortLowercaseAndUnique) {
    auto dir = unique_dir("ids");
    auto a = scratch::create(dir.string());
    auto b = scratch::create(dir.string());
    EXPECT_NE(a.id, b.id);
    EXPECT_EQ(a.id.size(), 8u);
    EXPECT_EQ(a.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789"), std::string::npos);
    EXPECT_EQ(a.path, (dir / ("c-" + a.id)).string());
    // The permission bits of its root, as a plain subdirectory of $TMPDIR would
    // let a test use it (docs/runtime.md, "The test's world").
    struct stat st {
    }, root{};
    ASSERT_EQ(::stat(a.path.c_str(), &st), 0);
    ASSERT_EQ(::stat(dir.c_str(), &root), 0);
    EXPECT_EQ(st.st_mode & 07777, root.st_mode & 07777);
    fs::remove_all(dir);
}

TEST(ScratchDir, RemovalNeverFollowsSymlinksOut) {
    auto dir = unique_dir("symlink");
    auto outside = dir / "outside";
    fs::create_directories(outside / "sub");
    write(outside / "keep.txt", "precious");
    write(outside / "sub" / "deep.txt", "precious too");
    auto s = scratch::create(dir.string());
    fs::create_directory_symlink(outside, fs::path(s.path) / "link_to_outside");
    fs::create_directories(fs::path(s.path) / "a" / "b");
    fs::create_symlink(outside / "keep.txt", fs::path(s.path) / "a" / "b" / "file_link");
    fs::create_directory_symlink(outside / "sub", fs::path(s.path) / "a" / "sub_link");
    write(fs::path(s.path) / "a" / "data", std::string(100000, 'x'));
    ::chmod((fs::path(s.path) / "a" / "b").c_str(), 0);  // unreadable dir: still removed

    auto measured = scratch::walk(s.path, false);
    EXPECT_GE(measured.bytes, 100000u);
    EXPECT_TRUE(fs::exists(s.path));

    auto r = scratch::walk(s.path, true);
    EXPECT_TRUE(r.errors.empty()) << r.errors.front();
    EXPECT_TRUE(r.removed);
    EXPECT_FALSE(fs::exists(fs::symlink_status(s.path)));
    EXPECT_TRUE(fs::exists(outside / "keep.txt"));
    EXPECT_TRUE(fs::exists(outside / "sub" / "deep.txt"));
    std::ifstream in(outside / "keep.txt");
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "precious");
    fs::remove_all(dir);
}

TEST(ScratchDir, RemovalDoesNotEnterAnotherMount) {
    auto dir = unique_dir("mount");
    auto s = scratch::create(dir.string());
    auto mnt = fs::path(s.path) / "mnt";
    fs::create_directory(mnt);
    if (::mount("corral-test", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
        int err = errno;
        fs::remove_all(dir);
        GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(err)
                     << "): needs root / CAP_SYS_ADMIN";
    }
    write(mnt / "on_other_fs.txt", "must survive");
    // A bind mount of the same filesystem: same device, different mount id.
    auto same_fs = dir / "same_fs_src";
    fs::create_directory(same_fs);
    write(same_fs / "bound.txt", "must survive too");
    auto bind = fs::path(s.path) / "bind";
    fs::create_directory(bind);
    bool bound = ::mount(same_fs.c_str(), bind.c_str(), nullptr, MS_BIND, nullptr) == 0;

    auto r = scratch::walk(s.path, true);
    bool tmpfs_kept = fs::exists(mnt / "on_other_fs.txt");
    bool bind_kept = !bound || fs::exists(same_fs / "bound.txt");
    ::umount2(mnt.c_str(), MNT_DETACH);
    if (bound) ::umount2(bind.c_str(), MNT_DETACH);
    EXPECT_TRUE(tmpfs_kept);
    EXPECT_TRUE(bind_kept);
    EXPECT_EQ(r.skipped_mounts.size(), bound ? 2u : 1u);
    EXPECT_FALSE(r.removed);  // the mount points keep the top directory alive
    fs::remove_all(dir);
}

// A mount on the scratch directory itself (a test that bind-mounted a
// directory onto its $TMPDIR): not entered, not emptied, measured as nothing.
// Before, the walk emptied the bound directory, outside the scratch.
TEST(ScratchDir, AMountOnTheScratchDirectoryItselfIsNotEntered) {
    auto dir = unique_dir("topmount");
    auto victim = dir / "victim";
    fs::create_directories(victim / "sub");
    write(victim / "file.txt", "must survive");
    write(victim / "sub" / "deep.txt", "must survive too");
    fs::create_directories(dir / "root");
    auto s = scratch::create((dir / "root").string());
    if (::mount(victim.c_str(), s.path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        int err = errno;
        fs::remove_all(dir);
        GTEST_SKIP() << "cannot bind-mount (" << std::strerror(err)
                     << "): needs root / CAP_SYS_ADMIN";
    }
    auto measured = scratch::walk(s.path, false);
    auto r = scratch::walk(s.path, true);
    bool kept = fs::exists(victim / "file.txt") && fs::exists(victim / "sub" / "deep.txt");
    ::umount2(s.path.c_str(), MNT_DETACH);
    EXPECT_TRUE(kept) << "the walk emptied the directory mounted on the scratch";
    EXPECT_EQ(measured.bytes, 0u);
    ASSERT_EQ(r.skipped_mounts.size(), 1u);
    EXPECT_EQ(r.skipped_mounts[0], s.path);
    EXPECT_FALSE(r.removed);
    EXPECT_TRUE(r.errors.empty()) << r.errors.front();
    fs::remove_all(dir);
}
