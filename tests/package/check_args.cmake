# Configures, builds and tests data/args with real cmake/ctest and compares what
# corral_add_test handed the argv printer with what add_test handed it.
#
#   cmake -DSOURCE=<data/args> -DWORK=<dir> -DCMAKE_BIN=<cmake> -DCTEST_BIN=<ctest>
#         -DCORRAL_BUILD=<corral build dir> [-DCONFIGURE_ARGS=-DCORRAL_EVAL_WITH_FILES=ON]
#         -P check_args.cmake
# CORRAL_EVAL_WITH_FILES=ON takes the CMake 3.16/3.17 path (no cmake_language) on
# this newer CMake, at configure and at ctest time.
cmake_minimum_required(VERSION 3.16)
include("${CMAKE_CURRENT_LIST_DIR}/package_script.cmake")
package_script_start(check_args.cmake SOURCE WORK CMAKE_BIN CTEST_BIN CORRAL_BUILD)
set(build "${WORK}/build")
run("configure" "${CMAKE_BIN}" -S "${SOURCE}" -B "${build}" -G Ninja
    "-DCorral_DIR=${CORRAL_BUILD}" ${CONFIGURE_ARGS})
message("${output}")
run("build" "${CMAKE_BIN}" --build "${build}")
message("${output}")
run("ctest" "${CTEST_BIN}" --test-dir "${build}" --output-on-failure)
message("${output}")
foreach(pair specials options empty_first covered:specials covered:old_signature)
  set(other corral)
  if(pair MATCHES "^covered:(.*)")
    set(other covered)
    set(pair "${CMAKE_MATCH_1}")
  endif()
  set(baseline "${pair}")
  if(pair STREQUAL "old_signature")
    set(baseline options)
  endif()
  file(READ "${build}/out/plain.${baseline}" plain)
  file(READ "${build}/out/${other}.${pair}" corral)
  if(NOT plain STREQUAL corral)
    message(FATAL_ERROR "${pair}: add_test handed over\n${plain}\ncorral_add_test handed over\n"
                        "${corral}")
  endif()
  message(STATUS "${pair}: the same ${plain}")
endforeach()
# The corral and covered tests really ran under the launcher, the excluded ones
# (plain.*, sub/) did not: the records say which.
file(STRINGS "${build}/corral-plan/records.jsonl" records)
set(names "")
foreach(record IN LISTS records)
  string(REGEX MATCH "\"name\":\"([^\"]*)\"" _ "${record}")
  list(APPEND names "${CMAKE_MATCH_1}")
  if(CMAKE_MATCH_1 STREQUAL "covered.old_signature")
    if(NOT record MATCHES "\"lock:args_hostwide\"" OR NOT record MATCHES "\"timeout_seconds\":33")
      message(FATAL_ERROR "corral_test_properties(LOCKS args_hostwide TIMEOUT 33) did not reach "
                          "corral run: ${record}")
    endif()
  endif()
endforeach()
list(SORT names)
set(expected corral.empty_first corral.options corral.semicolon corral.specials
             covered.old_signature covered.specials)
if(NOT names STREQUAL expected)
  message(FATAL_ERROR "records for ${names}; expected exactly ${expected}")
endif()
