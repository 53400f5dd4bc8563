# An unmodified project (data/everywhere: both add_test signatures, sh -c with
# ';', a command ctest resolves itself, a subdirectory, gtest_discover_tests, a
# leaked setsid daemon) is built and tested twice with real cmake/ctest: as it
# is, and put under Corral with one configure option (CorralEverywhere.cmake).
# Every test must pass or fail the same way both times, run under corral run
# with its own name and working directory in the records, and the daemon must
# be killed and reported with the test's name.
#
#   cmake -DSOURCE=<data/everywhere> -DWORK=<dir> -DCMAKE_BIN=<cmake> -DCTEST_BIN=<ctest>
#         -DPACKAGE_DIR=<dir with CorralEverywhere.cmake> [-DCORRAL_BUILD=<corral build>]
#         [-DINSTALL=ON] -P check_everywhere.cmake
cmake_minimum_required(VERSION 3.19)
include("${CMAKE_CURRENT_LIST_DIR}/package_script.cmake")
package_script_start(check_everywhere.cmake SOURCE WORK CMAKE_BIN CTEST_BIN PACKAGE_DIR)
message(STATUS "CMake ${version}")

if(INSTALL)
  run("cmake --install" "${CMAKE_COMMAND}" --install "${CORRAL_BUILD}" --prefix "${WORK}/prefix")
  set(PACKAGE_DIR "${WORK}/prefix/lib/cmake/Corral")
endif()
set(everywhere "${PACKAGE_DIR}/CorralEverywhere.cmake")
if(NOT EXISTS "${everywhere}")
  message(FATAL_ERROR "no ${everywhere}: the package does not install CorralEverywhere.cmake")
endif()

# name -> Passed/Failed for every test ctest ran, as <prefix>_<name>, and the list.
function(ctest_results build prefix)
  execute_process(COMMAND "${CTEST_BIN}" --test-dir "${build}" -j 2 --timeout 600
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  string(REGEX MATCHALL "Test +#[0-9]+: [^ ]+ [^\n]*(Passed|Failed|Not Run|Timeout|Exception)"
               lines "${out}")
  set(names "")
  foreach(line IN LISTS lines)
    string(REGEX MATCH "Test +#[0-9]+: ([^ ]+) " _ "${line}")
    set(name "${CMAKE_MATCH_1}")
    if(line MATCHES "Passed$")
      set(status Passed)
    else()
      set(status Failed)
    endif()
    list(APPEND names "${name}")
    set(${prefix}_${name} ${status} PARENT_SCOPE)
  endforeach()
  set(${prefix}_names "${names}" PARENT_SCOPE)
endfunction()

function(kill_daemon build)
  if(EXISTS "${build}/daemon.pid")
    file(STRINGS "${build}/daemon.pid" pid)
    if(EXISTS "/proc/${pid}/cmdline")
      file(READ "/proc/${pid}/cmdline" cmdline)
      if(cmdline MATCHES "^sleep")
        execute_process(COMMAND kill -KILL ${pid})  # the one this test started, by pid
        set(daemon_alive ON PARENT_SCOPE)
        return()
      endif()
    endif()
  endif()
  set(daemon_alive OFF PARENT_SCOPE)
endfunction()

# 1. As it is.
set(plain "${WORK}/plain")
run("configure (plain)" "${CMAKE_BIN}" -S "${SOURCE}" -B "${plain}" -G Ninja)
run("build (plain)" "${CMAKE_BIN}" --build "${plain}" --parallel 2)
ctest_results("${plain}" plain)
kill_daemon("${plain}")
if(NOT daemon_alive)
  message(FATAL_ERROR "without Corral the daemon of top.daemon should have survived ctest")
endif()

# 2. Under Corral, one option, no source change.
set(covered "${WORK}/covered")
if(version VERSION_LESS 3.24)
  set(include_var CMAKE_PROJECT_INCLUDE)
else()
  set(include_var CMAKE_PROJECT_TOP_LEVEL_INCLUDES)
endif()
run("configure (covered)" "${CMAKE_BIN}" -S "${SOURCE}" -B "${covered}" -G Ninja
    "-D${include_var}=${everywhere}")
message("${output}")
run("build (covered)" "${CMAKE_BIN}" --build "${covered}" --parallel 2)
ctest_results("${covered}" covered)
kill_daemon("${covered}")
if(daemon_alive)
  message(FATAL_ERROR "the daemon of top.daemon outlived ctest under Corral")
endif()

# The same tests, the same results.
set(expected_tests top.new_signature top.old_signature top.fails top.resolved top.daemon
                   top.env sub.passes sub.old_signature Cases.Passes Cases.AlsoPasses)
foreach(name IN LISTS expected_tests)
  if(NOT DEFINED plain_${name})
    message(FATAL_ERROR "${name} did not run without Corral")
  endif()
endforeach()
# The one difference by design: a test that leaves a process behind fails under
# Corral (corral_setup's LEAK fail default, docs/runtime.md "What ctest shows");
# without Corral its daemon silently outlives ctest.
if(NOT "${plain_top.daemon}" STREQUAL "Passed" OR NOT "${covered_top.daemon}" STREQUAL "Failed")
  message(FATAL_ERROR "top.daemon: expected Passed without Corral and Failed (leak) under "
                      "Corral; got '${plain_top.daemon}' and '${covered_top.daemon}'")
endif()
foreach(name IN LISTS plain_names)
  if(name STREQUAL "top.daemon")
    continue()
  endif()
  if(NOT "${plain_${name}}" STREQUAL "${covered_${name}}")
    message(FATAL_ERROR "${name}: ${plain_${name}} without Corral, "
                        "'${covered_${name}}' under Corral")
  endif()
endforeach()
foreach(name IN LISTS covered_names)
  if(NOT DEFINED plain_${name} AND NOT name MATCHES "^corral\\.")
    message(FATAL_ERROR "${name} ran only under Corral")
  endif()
endforeach()

# Every test ran under corral run: one record each, under its own name, with
# its working directory; no record for the build-time discovery of gtest_cases.
set(records_file "${covered}/corral-plan/records.jsonl")
if(NOT EXISTS "${records_file}")
  message(FATAL_ERROR "no records at ${records_file}")
endif()
file(STRINGS "${records_file}" records)
set(seen "")
foreach(record IN LISTS records)
  string(JSON name GET "${record}" name)
  string(JSON cwd GET "${record}" working_directory)
  list(APPEND seen "${name}")
  set(cwd_${name} "${cwd}")
  set(record_${name} "${record}")
endforeach()
foreach(name IN LISTS plain_names)
  list(FIND seen "${name}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "no record named ${name}: it did not run under corral run "
                        "(records: ${seen})")
  endif()
  set(dir "${covered}")
  if(name MATCHES "^sub\\.")
    set(dir "${covered}/sub")
  endif()
  if(NOT "${cwd_${name}}" STREQUAL "${dir}")
    message(FATAL_ERROR "${name}: working_directory ${cwd_${name}}, expected ${dir}")
  endif()
endforeach()
list(LENGTH seen n_records)
list(LENGTH plain_names n_tests)
if(NOT n_records EQUAL n_tests)
  message(FATAL_ERROR "${n_records} records for ${n_tests} tests: ${seen}")
endif()
list(FIND seen gtest_cases at)
if(at GREATER -1)
  message(FATAL_ERROR "the build-time gtest discovery was recorded as a test")
endif()

# The daemon: reported with the test's name.
string(JSON leaked_count LENGTH "${record_top.daemon}" leaked)
if(leaked_count LESS 1)
  message(FATAL_ERROR "top.daemon's record reports no leaked process: ${record_top.daemon}")
endif()
string(JSON leaked_command GET "${record_top.daemon}" leaked 0 command)
if(NOT leaked_command MATCHES "sleep")
  message(FATAL_ERROR "top.daemon's leak is not the daemon: ${record_top.daemon}")
endif()

# Arguments exactly as without Corral (checked by the test's own regex), the
# test's own TIMEOUT became the launcher's.
string(JSON timeout GET "${record_top.env}" timeout_seconds)
if(NOT timeout EQUAL 77)
  message(FATAL_ERROR "top.env: launcher timeout ${timeout}, expected its TIMEOUT 77")
endif()
string(JSON command GET "${record_top.resolved}" command 0)
if(NOT command STREQUAL "${covered}/tool.sh")
  message(FATAL_ERROR "top.resolved ran ${command}, not the tool.sh ctest finds")
endif()
message(STATUS "CMake ${version}: ${n_tests} tests, same results, all under corral run")
