#include "runtime/launch_render.hpp"

#include <string.h>

#include "common/text.hpp"

namespace corral::launcher::render {

std::string forwarding(int sig, double grace_seconds) {
    return std::string("received SIG") + ::sigabbrev_np(sig) +
           "; forwarding it to the test, whole tree killed if still running after " +
           human_number(grace_seconds) + " s";
}

std::string stop_during_sweep(int sig) {
    return std::string("received SIG") + ::sigabbrev_np(sig) +
           " after the test's main process ended; ending the leak sweep now (what is left is "
           "killed), the launcher exits " +
           std::to_string(128 + sig);
}

std::string timeout(const std::string& name, double timeout_seconds, double grace_seconds) {
    return "TIMEOUT: test '" + name + "' still running after " + human_number(timeout_seconds) +
           " s; terminating its whole process tree (TERM, KILL after " +
           human_number(grace_seconds) + " s)";
}

std::vector<std::string> leak(const std::string& name,
                              const std::vector<records::ProcessEntry>& leaked, LeakPolicy policy) {
    std::vector<std::string> out;
    out.push_back("LEAK: test '" + name + "' left " + std::to_string(leaked.size()) +
                  " process(es) running after its main process exited:");
    for (const auto& p : leaked)
        out.push_back("  pid " + std::to_string(p.pid) + ": " + p.command);
    // "LEAK-FAIL:" is the line CTest's FAIL_REGULAR_EXPRESSION (set by corral_setup)
    // matches, so ctest's own result line names the reason (docs/runtime.md).
    out.push_back(policy == LeakPolicy::Fail
                      ? "LEAK-FAIL: test '" + name +
                            "' FAILS for leaking (--leak fail); the processes were killed"
                      : "killed them; --leak warn: the test's own result stands (use --leak fail "
                        "to fail it)");
    return out;
}

std::string oom(const records::RunRecord& r) {
    auto bytes = [](const std::optional<uint64_t>& b) {
        return b ? human_bytes(*b) : std::string("unknown");
    };
    return "OOM: test '" + r.name + "' hit its memory limit (" + bytes(r.memory_limit_bytes) +
           ") and was OOM-killed; declared " +
           (r.declared_memory_bytes ? human_bytes(*r.declared_memory_bytes)
                                    : std::string("nothing (no mem_mib grant)")) +
           ", peak " + bytes(r.peak_nonreclaimable_bytes) + " non-reclaimable (" +
           human_bytes(r.peak_memory_bytes) + " with page cache)";
}

}  // namespace corral::launcher::render
