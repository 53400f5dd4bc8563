// The program ctest(1) itself would run for a test's command word, for
// `corral run --ctest-resolve` (CorralFunctions.cmake wraps commands that
// ctest resolves itself, docs/cmake.md).
//
// The rules are CMake's cmCTestTestHandler::FindTheExecutable, which calls
// FindExecutable and AddConfigurations (Source/CTest/cmCTestTestHandler.cxx;
// TryExecutable in older releases), in the test's working directory:
//  1. for the word's directory D (empty for a bare name) and name N: D/N, then
//     with a configuration C (ctest -C): D/C/N and C/D/N (macOS bundles);
//     without one: D/<cfg>/N for Release, Debug, MinSizeRel, RelWithDebInfo,
//     Deployment, Development, in that order;
//  2. when D is absolute, the same again with D taken relative to the working
//     directory (its leading '/' dropped);
//  3. for a bare name only, the first regular file N on $PATH.
// The first candidate that exists and is not a directory wins (CMake's
// FileExists(path, isFile=true)); Linux has no executable extension to try.
#pragma once

#include <string>
#include <string_view>

namespace corral::launcher {

// The path ctest would run for `command` (the test's first word) under
// configuration `config` ("" when ctest runs without -C), looking up a bare
// name in `path_variable` (the value of $PATH, ':'-separated; empty entries
// skipped). Relative candidates are made absolute against the current
// directory and lexically normalised; a $PATH hit is returned as dir/name.
// "" when ctest would not find it either (then the word is run as given).
std::string ctest_find_executable(std::string_view command, std::string_view config,
                                  std::string_view path_variable);

}  // namespace corral::launcher
