// Defaults stated once. The C++ code takes them from here; the CMake functions
// (cmake/CorralFunctions.cmake, which must work before corral is built and from
// an installed package without this header) restate the two they need, and
// tests/common/units_cases.cmake fails when those differ from the values here.
#pragma once

namespace corral::defaults {

// Per-test timeout before the multiplier, in seconds: CTest's own default
// (DART_TESTING_TIMEOUT, ctest(1) --timeout). policy tests.timeout, the plan's
// test_timeout_seconds, CMake's CORRAL_PLAN_TEST_TIMEOUT before a plan exists.
inline constexpr int kTestTimeoutSeconds = 1500;

// The CI job's timeout-minutes: policy ci.job_timeout_minutes, the plan's
// job_timeout_minutes (GitHub Actions' own default is 360).
inline constexpr int kJobTimeoutMinutes = 60;

// Seconds between SIGTERM and SIGKILL: corral run/reap --grace, corral_setup(GRACE).
inline constexpr int kGraceSeconds = 5;

}  // namespace corral::defaults
