// corral run hands a granted GPU back in a form its runtime accepts (issue 11 item 2).
#include <gtest/gtest.h>

#include "runtime/gpu_grant.hpp"
#include "runtime/launcher.hpp"

namespace corral::launcher {
namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

TEST(GpuGrant, MigAndGpuUuidsFromThePlan) {
    auto plan = nlohmann::json::parse(R"([
      {"name": "mem_mib", "ids": [{"id": "0", "slots": 1024}]},
      {"name": "gpus", "ids": [
        {"id": "nvidia_mig0", "slots": 1, "visible_variable": "CUDA_VISIBLE_DEVICES",
         "visible_as": "MIG-1a2b3c4d-5e6f-5a7b-8c9d-0e1f2a3b4c5e"},
        {"id": "nvidia1", "slots": 1, "visible_variable": "CUDA_VISIBLE_DEVICES",
         "visible_as": "GPU-1111"},
        {"id": "amd0", "slots": 1, "visible_variable": "ROCR_VISIBLE_DEVICES",
         "visible_as": "GPU-a4c31f62101d6939"}]}])");
    auto handles = gpu_handles_from_plan(plan);
    ASSERT_EQ(handles.size(), 3u);
    Env env;
    std::vector<std::string> notes;
    translate_gpu_grants({"nvidia_mig0"}, handles, env, notes);
    EXPECT_EQ(env, (Env{{"CUDA_VISIBLE_DEVICES", "MIG-1a2b3c4d-5e6f-5a7b-8c9d-0e1f2a3b4c5e"}}));
    EXPECT_TRUE(notes.empty());
    env.clear();
    translate_gpu_grants({"nvidia1", "amd0"}, handles, env, notes);
    // ROCr filters by UUID; HIP then indexes into what ROCr shows.
    EXPECT_EQ(env, (Env{{"CUDA_VISIBLE_DEVICES", "GPU-1111"},
                        {"ROCR_VISIBLE_DEVICES", "GPU-a4c31f62101d6939"},
                        {"HIP_VISIBLE_DEVICES", "0"}}));
}

TEST(GpuGrant, WithoutAHandleTheIdsIndexIsUsedAndSaid) {
    Env env;
    std::vector<std::string> notes;
    translate_gpu_grants({"nvidia3", "amd1", "tpu0", "gpu"}, {}, env, notes);
    EXPECT_EQ(env, (Env{{"CUDA_VISIBLE_DEVICES", "3"}, {"HIP_VISIBLE_DEVICES", "1"}}));
    ASSERT_EQ(notes.size(), 4u);
    EXPECT_NE(notes[0].find("handed over as index 3"), std::string::npos) << notes[0];
}

TEST(GpuGrant, TranslateGrantsUsesThePlanHandles) {
    GpuHandles handles{{"nvidia_mig0", {"CUDA_VISIBLE_DEVICES", "MIG-abc"}}};
    auto t = translate_grants({{0, "gpus", "nvidia_mig0", 1}}, {}, &handles);
    ASSERT_EQ(t.env.size(), 1u);
    EXPECT_EQ(t.env[0], (std::pair<std::string, std::string>{"CUDA_VISIBLE_DEVICES", "MIG-abc"}));
}

}  // namespace
}  // namespace corral::launcher
