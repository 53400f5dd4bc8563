# Configures, builds and tests data/args with real cmake/ctest and compares what
# corral_add_test handed the argv printer with what add_test handed it.
#
#   cmake -DSOURCE=<data/args> -DWORK=<dir> -DCMAKE_BIN=<cmake> -DCTEST_BIN=<ctest>
#         -DCORRAL_BUILD=<corral build dir> [-DCONFIGURE_ARGS=-DCORRAL_EVAL_WITH_FILES=ON]
#         -P check_args.cmake
# CORRAL_EVAL_WITH_FILES=ON takes the CMake 3.16/3.17 path (no cmake_language) on
# this newer CMake, at configure and at ctest time.
cmake_minimum_required(VERSION 3.16)
foreach(var SOURCE WORK CMAKE_BIN CTEST_BIN CORRAL_BUILD)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_args.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${CMAKE_BIN}")
  message("CORRAL_SKIP: ${CMAKE_BIN} is not installed (./bootstrap installs the test-only "
          "CMake versions into build/tools)")
  return()
endif()
file(REMOVE_RECURSE "${WORK}")
set(build "${WORK}/build")
foreach(step "configure;${CMAKE_BIN};-S;${SOURCE};-B;${build};-G;Ninja;-DCorral_DIR=${CORRAL_BUILD};${CONFIGURE_ARGS}"
             "build;${CMAKE_BIN};--build;${build}"
             "ctest;${CTEST_BIN};--test-dir;${build};--output-on-failure")
  list(POP_FRONT step what)
  execute_process(COMMAND ${step} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (exit ${rc})")
  endif()
endforeach()
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
