// The launcher's own lines on stderr (each printed as "corral run: <line>"),
// apart from the lifecycle that decides them. CTest's FAIL_REGULAR_EXPRESSION
// (corral_setup) matches "TIMEOUT:" and "LEAK-FAIL:" (docs/runtime.md "What
// ctest shows"): keep those words.
#pragma once

#include <string>
#include <vector>

#include "runtime/launcher.hpp"
#include "runtime/records.hpp"

namespace corral::launcher::render {

// A stop signal reached the launcher while the test runs.
std::string forwarding(int sig, double grace_seconds);
// A stop signal reached the launcher after the test's main process ended.
std::string stop_during_sweep(int sig);
std::string timeout(const std::string& name, double timeout_seconds, double grace_seconds);
// LEAK: ..., one line per process, then LEAK-FAIL: or the --leak warn note.
std::vector<std::string> leak(const std::string& name,
                              const std::vector<records::ProcessEntry>& leaked, LeakPolicy policy);
// The OOM kill under --memory-limit: the limit, what was declared, the peaks.
std::string oom(const records::RunRecord& r);

}  // namespace corral::launcher::render
