// GPUs from recorded /proc, /sys and /dev trees, and the visibility variables.
#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>
#include <sstream>

#include "probe/probe.hpp"
#include "scratch_test_support.hpp"

namespace corral {
namespace {

std::vector<GpuFacts> gpus_of(const std::string& tree, const Environment& env = {}) {
    return probe_gpus(RecordedHost(std::string(CORRAL_TEST_DATA_DIR) + "/hosts/" + tree), env);
}

std::vector<std::string> ids(const std::vector<GpuFacts>& gpus) {
    std::vector<std::string> out;
    for (const auto& g : gpus)
        out.push_back(g.id);
    return out;
}

TEST(GpuRecorded, TwoNvidiaGpus) {
    auto gpus = gpus_of("gpu-nvidia-2");
    ASSERT_EQ(gpus.size(), 2u);
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(gpus[i].vendor, "nvidia");
        EXPECT_EQ(gpus[i].index, i);
        EXPECT_EQ(gpus[i].id, "nvidia" + std::to_string(i));
        EXPECT_EQ(gpus[i].name, "Tesla V100-SXM2-16GB");
        EXPECT_EQ(gpus[i].device, "/dev/nvidia" + std::to_string(i));
        EXPECT_TRUE(std::regex_match(gpus[i].id, std::regex("^[a-z0-9_]+$")));
    }
    EXPECT_NE(gpus[1].source.find("/proc/driver/nvidia/gpus/0000:86:00.0/information"),
              std::string::npos)
        << gpus[1].source;
    EXPECT_NE(gpus[1].source.find("CUDA_VISIBLE_DEVICES unset"), std::string::npos);
}

TEST(GpuRecorded, OneAmdGpuAndNotItsCpuNode) {
    auto gpus = gpus_of("gpu-amd-1");
    ASSERT_EQ(gpus.size(), 1u);
    EXPECT_EQ(gpus[0].vendor, "amd");
    EXPECT_EQ(gpus[0].id, "amd0");
    EXPECT_EQ(gpus[0].index, 0);
    EXPECT_EQ(gpus[0].name, "gfx90a");
    EXPECT_EQ(gpus[0].device, "/dev/dri/renderD128");
    EXPECT_NE(gpus[0].source.find("topology/nodes/1/properties"), std::string::npos);
}

TEST(GpuRecorded, HipVisibleDevicesHidesAmdGpus) {
    EXPECT_TRUE(gpus_of("gpu-amd-1", {{"HIP_VISIBLE_DEVICES", ""}}).empty());
    EXPECT_TRUE(gpus_of("gpu-amd-1", {{"HIP_VISIBLE_DEVICES", "-1"}}).empty());
    EXPECT_EQ(gpus_of("gpu-amd-1", {{"HIP_VISIBLE_DEVICES", "0"}}).size(), 1u);
    // CUDA's variable is for NVIDIA devices only.
    EXPECT_EQ(gpus_of("gpu-amd-1", {{"CUDA_VISIBLE_DEVICES", ""}}).size(), 1u);
}

TEST(GpuRecorded, IndicesFollowBusOrderNotDeviceMinors) {
    // Minors run 3,2,1,0 in bus order: CUDA (PCI_BUS_ID) and nvidia-smi count by bus.
    auto gpus = gpus_of("gpu-visible-subset");
    ASSERT_EQ(gpus.size(), 4u);
    EXPECT_EQ(ids(gpus), (std::vector<std::string>{"nvidia0", "nvidia1", "nvidia2", "nvidia3"}));
    EXPECT_EQ(gpus[0].device, "/dev/nvidia3");
    EXPECT_EQ(gpus[3].device, "/dev/nvidia0");
}

TEST(GpuRecorded, CudaVisibleDevicesSelectsAndRenumbers) {
    auto gpus = gpus_of("gpu-visible-subset", {{"CUDA_VISIBLE_DEVICES", "2,0"}});
    ASSERT_EQ(gpus.size(), 2u);
    EXPECT_EQ(gpus[0].id, "nvidia2");  // the id names the physical device ...
    EXPECT_EQ(gpus[0].index, 0);       // ... the index is what CUDA calls it now
    EXPECT_EQ(gpus[0].device, "/dev/nvidia1");
    EXPECT_EQ(gpus[1].id, "nvidia0");
    EXPECT_EQ(gpus[1].index, 1);
    EXPECT_NE(gpus[0].source.find("under CUDA_VISIBLE_DEVICES=2,0"), std::string::npos)
        << gpus[0].source;
}

TEST(GpuRecorded, CudaVisibleDevicesEmptyOrMinusOneHidesAll) {
    EXPECT_TRUE(gpus_of("gpu-visible-subset", {{"CUDA_VISIBLE_DEVICES", ""}}).empty());
    EXPECT_TRUE(gpus_of("gpu-visible-subset", {{"CUDA_VISIBLE_DEVICES", "-1"}}).empty());
    EXPECT_TRUE(gpus_of("gpu-visible-subset", {{"CUDA_VISIBLE_DEVICES", "7"}}).empty());
}

TEST(GpuRecorded, CudaStopsAtTheFirstInvalidEntry) {
    EXPECT_EQ(ids(gpus_of("gpu-visible-subset", {{"CUDA_VISIBLE_DEVICES", "1,-1,3"}})),
              (std::vector<std::string>{"nvidia1"}));
    EXPECT_EQ(ids(gpus_of("gpu-visible-subset", {{"CUDA_VISIBLE_DEVICES", " 3 , 9, 0"}})),
              (std::vector<std::string>{"nvidia3"}));
    EXPECT_EQ(ids(gpus_of("gpu-visible-subset", {{"CUDA_VISIBLE_DEVICES", "1,1"}})),
              (std::vector<std::string>{"nvidia1"}));
}

TEST(GpuRecorded, CudaVisibleDevicesByUuidAndUniquePrefix) {
    EXPECT_EQ(
        ids(gpus_of("gpu-visible-subset", {{"CUDA_VISIBLE_DEVICES",
                                            "GPU-33330000-aaaa-bbbb-cccc-000000000003,GPU-1111"}})),
        (std::vector<std::string>{"nvidia3", "nvidia1"}));
    // "GPU-" alone matches all four: ambiguous, so nothing from there on.
    EXPECT_EQ(ids(gpus_of("gpu-visible-subset", {{"CUDA_VISIBLE_DEVICES", "2,GPU-,0"}})),
              (std::vector<std::string>{"nvidia2"}));
    EXPECT_TRUE(gpus_of("gpu-visible-subset", {{"CUDA_VISIBLE_DEVICES", "GPU-9999"}}).empty());
}

// NVIDIA MIG User Guide, "CUDA Device Enumeration": CUDA_VISIBLE_DEVICES=MIG-<uuid>
// (R470+, what the Kubernetes device plugin sets) makes that MIG device CUDA device 0.
TEST(GpuRecorded, MigDeviceUuidIsOneVisibleDevice) {
    const std::string mig = "MIG-1a2b3c4d-5e6f-5a7b-8c9d-0e1f2a3b4c5e";
    auto gpus = gpus_of("gpu-nvidia-2", {{"CUDA_VISIBLE_DEVICES", mig}});
    ASSERT_EQ(gpus.size(), 1u);
    EXPECT_EQ(gpus[0].index, 0);
    EXPECT_EQ(gpus[0].id, "nvidia_mig0");
    EXPECT_EQ(gpus[0].uuid, mig);
    EXPECT_EQ(gpus[0].variable, "CUDA_VISIBLE_DEVICES");
    EXPECT_EQ(gpus[0].visible_as, mig);
    EXPECT_TRUE(std::regex_match(gpus[0].id, std::regex("^[a-z0-9_]+$")));
    // Two MIG devices, then an invalid entry: parsing stops there.
    EXPECT_EQ(ids(gpus_of("gpu-nvidia-2", {{"CUDA_VISIBLE_DEVICES", mig + ",MIG-2b,7,0"}})),
              (std::vector<std::string>{"nvidia_mig0", "nvidia_mig1"}));
    // The older form on a host whose MIG capabilities are not visible: the parent GPU
    // must exist.
    const std::string old_form = "MIG-GPU-5f1c3a9e-0b7d-4a61-9c2e-1d0a7b3e8f01/1/0";
    auto by_old = gpus_of("gpu-nvidia-2", {{"CUDA_VISIBLE_DEVICES", old_form}});
    ASSERT_EQ(by_old.size(), 1u);
    EXPECT_EQ(by_old[0].visible_as, old_form);
    EXPECT_TRUE(
        gpus_of("gpu-nvidia-2", {{"CUDA_VISIBLE_DEVICES", "MIG-GPU-00000000-dead/1/0"}}).empty());
    // A MIG UUID names nothing on a host without NVIDIA GPUs.
    EXPECT_TRUE(gpus_of("gpu-amd-1", {{"CUDA_VISIBLE_DEVICES", mig}}).size() == 1u);  // the AMD one
    EXPECT_EQ(gpus_of("gpu-amd-1", {{"CUDA_VISIBLE_DEVICES", mig}})[0].vendor, "amd");
}

TEST(GpuRecorded, MigInstancesOnTheHostReplaceTheirGpu) {
    // Three compute instances exist; this container has the cap nodes of two.
    auto gpus = gpus_of("gpu-nvidia-mig");
    ASSERT_EQ(gpus.size(), 2u);
    const std::string parent = "GPU-3b2a1c0d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
    EXPECT_EQ(gpus[0].uuid, "MIG-" + parent + "/1/0");
    EXPECT_EQ(gpus[1].uuid, "MIG-" + parent + "/2/0");
    EXPECT_EQ(gpus[1].visible_as, gpus[1].uuid);
    EXPECT_EQ(gpus[0].device, "/dev/nvidia0");
    EXPECT_NE(gpus[1].source.find("capabilities/gpu0/mig/gi2/ci0, /dev/nvidia-caps/nvidia-cap22"),
              std::string::npos)
        << gpus[1].source;
    // The older MIG-GPU-<uuid>/<gi>/<ci> form selects among them; indices too.
    EXPECT_EQ(ids(gpus_of("gpu-nvidia-mig", {{"CUDA_VISIBLE_DEVICES",
                                              "MIG-" + parent + "/2/0,MIG-" + parent + "/5/0"}})),
              (std::vector<std::string>{gpus[1].id}));
    EXPECT_EQ(ids(gpus_of("gpu-nvidia-mig", {{"CUDA_VISIBLE_DEVICES", "1"}})),
              (std::vector<std::string>{gpus[1].id}));
}

TEST(GpuRecorded, NvidiaGpusAreHandedBackByUuid) {
    auto gpus = gpus_of("gpu-visible-subset", {{"CUDA_VISIBLE_DEVICES", "2,0"}});
    ASSERT_EQ(gpus.size(), 2u);
    EXPECT_EQ(gpus[0].variable, "CUDA_VISIBLE_DEVICES");
    EXPECT_EQ(gpus[0].visible_as.rfind("GPU-", 0), 0u) << gpus[0].visible_as;
    EXPECT_EQ(gpus[0].visible_as, gpus[0].uuid);
}

// ROCm docs, "GPU isolation techniques": ROCR_VISIBLE_DEVICES first (indices or
// GPU-<hex> UUIDs), then HIP_VISIBLE_DEVICES indexes into what ROCr shows.
TEST(GpuRecorded, RocrThenHipCompose) {
    const std::string a = "GPU-a4c31f62101d6939", b = "GPU-0000000000001234";
    auto all = gpus_of("gpu-amd-2");
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].uuid, a);
    EXPECT_EQ(all[1].uuid, b);
    EXPECT_EQ(all[1].variable, "ROCR_VISIBLE_DEVICES");
    EXPECT_EQ(all[1].visible_as, b);
    EXPECT_EQ(ids(gpus_of("gpu-amd-2", {{"ROCR_VISIBLE_DEVICES", b}})),
              (std::vector<std::string>{"amd1"}));
    EXPECT_EQ(ids(gpus_of("gpu-amd-2", {{"ROCR_VISIBLE_DEVICES", "1,0"}})),
              (std::vector<std::string>{"amd1", "amd0"}));
    // HIP index 0 is ROCr's first: amd1.
    auto hip =
        gpus_of("gpu-amd-2", {{"ROCR_VISIBLE_DEVICES", "1,0"}, {"HIP_VISIBLE_DEVICES", "0"}});
    ASSERT_EQ(hip.size(), 1u);
    EXPECT_EQ(hip[0].id, "amd1");
    EXPECT_EQ(hip[0].index, 0);
    EXPECT_NE(hip[0].source.find("ROCR_VISIBLE_DEVICES=1,0, HIP_VISIBLE_DEVICES=0"),
              std::string::npos)
        << hip[0].source;
    // HIP index 1 does not exist under ROCR=amd1 alone; a HIP UUID works.
    EXPECT_TRUE(gpus_of("gpu-amd-2", {{"ROCR_VISIBLE_DEVICES", "1"}, {"HIP_VISIBLE_DEVICES", "1"}})
                    .empty());
    EXPECT_EQ(ids(gpus_of("gpu-amd-2", {{"HIP_VISIBLE_DEVICES", "GPU-a4c3"}})),
              (std::vector<std::string>{"amd0"}));
    EXPECT_TRUE(gpus_of("gpu-amd-2", {{"ROCR_VISIBLE_DEVICES", "-1"}}).empty());
}

TEST(GpuRecorded, ContainerGivenOneOfTwoGpusSeesOne) {
    // The driver lists both GPUs but only /dev/nvidia1 was passed in; inside,
    // CUDA calls it device 0.
    auto gpus = gpus_of("gpu-container-one-of-two");
    ASSERT_EQ(gpus.size(), 1u);
    EXPECT_EQ(gpus[0].id, "nvidia0");
    EXPECT_EQ(gpus[0].device, "/dev/nvidia1");
    EXPECT_EQ(gpus[0].name, "Tesla V100-SXM2-16GB");
}

TEST(GpuRecorded, TreesWithoutGpusGiveAnEmptyList) {
    EXPECT_TRUE(gpus_of("scratch-recorded").empty());
    EXPECT_TRUE(gpus_of("does-not-exist").empty());
}

TEST(GpuLive, ThisHostWithoutGpuDriversReportsNone) {
    if (::access("/proc/driver/nvidia", F_OK) == 0 || ::access("/sys/class/kfd", F_OK) == 0)
        GTEST_SKIP() << "this host has a GPU driver loaded; the empty-list check needs one without";
    EXPECT_TRUE(probe_gpus(live_host(), current_environment()).empty());
    auto facts = test::corral_probe_json("");
    EXPECT_EQ(facts["gpus"], nlohmann::json::array());
}

TEST(GpuCli, RecordedTreeThroughTheProgram) {
    auto facts = test::corral_probe_json("--root " + std::string(CORRAL_TEST_DATA_DIR) +
                                         "/hosts/gpu-nvidia-2");
    ASSERT_EQ(facts["gpus"].size(), 2u) << facts["gpus"].dump(2);
    EXPECT_EQ(facts["gpus"][1]["id"], "nvidia1");
    EXPECT_EQ(facts["gpus"][1]["vendor"], "nvidia");
    EXPECT_EQ(facts["gpus"][1]["device"], "/dev/nvidia1");
}

TEST(GpuDescribe, NamesEachDeviceAndItsSource) {
    std::ostringstream out;
    describe_gpus(out, gpus_of("gpu-nvidia-2"));
    EXPECT_NE(out.str().find("nvidia1  Tesla V100-SXM2-16GB at /dev/nvidia1"), std::string::npos)
        << out.str();
    std::ostringstream none;
    describe_gpus(none, {});
    EXPECT_NE(none.str().find("none visible"), std::string::npos);
}

}  // namespace
}  // namespace corral
