# corral_setup() recognises sanitizers and valgrind from the build's own
# configuration: each way of turning one on raises the plan's timeout multiplier
# and every test's timeout, and the configure output says why.
#
#   cmake -DSOURCE=<data/sanitizer> -DWORK=<dir> -DCMAKE_BIN=<cmake>
#         -DCORRAL_BUILD=<corral build dir> -P check_sanitizer.cmake
cmake_minimum_required(VERSION 3.16)
include("${CMAKE_CURRENT_LIST_DIR}/package_script.cmake")
package_script_start(check_sanitizer.cmake SOURCE WORK CMAKE_BIN CORRAL_BUILD)
# name | configure arguments (|-separated) | expected sanitizer in the output
set(cases
    "none||no sanitizer or valgrind"
    "cxx_flags|-DCMAKE_CXX_FLAGS=-O1 -fsanitize=address,undefined|asan,ubsan (-fsanitize=address,undefined in CMAKE_CXX_FLAGS"
    "config_flags|-DCMAKE_BUILD_TYPE=RelWithDebInfo|-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-fsanitize=thread|tsan (-fsanitize=thread in CMAKE_CXX_FLAGS_RELWITHDEBINFO"
    "compile_options|-DEXTRA_COMPILE_OPTIONS=-fsanitize=leak|lsan (-fsanitize=leak in add_compile_options"
    "init_flags|-DCMAKE_CXX_FLAGS_INIT=-fsanitize=thread|tsan (-fsanitize=thread in CMAKE_CXX_FLAGS"
    "memcheck|-DMEMORYCHECK_COMMAND=/usr/bin/valgrind|valgrind (MEMORYCHECK_COMMAND")
foreach(case IN LISTS cases)
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 name)
  list(LENGTH parts n)
  math(EXPR last "${n} - 1")
  list(GET parts ${last} expect)
  set(args "")
  if(n GREATER 2)
    math(EXPR stop "${n} - 2")
    foreach(i RANGE 1 ${stop})
      list(GET parts ${i} a)
      if(NOT a STREQUAL "")
        list(APPEND args "${a}")
      endif()
    endforeach()
  endif()
  file(REMOVE_RECURSE "${WORK}/${name}")
  execute_process(COMMAND "${CMAKE_BIN}" -S "${SOURCE}" -B "${WORK}/${name}" -G Ninja
                          "-DCorral_DIR=${CORRAL_BUILD}" ${args}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: configure failed:\n${out}${err}")
  endif()
  string(FIND "${out}" "${expect}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${name}: the configure output does not say \"${expect}\":\n${out}")
  endif()
  string(REGEX MATCH "RESULT multiplier=([0-9.]+) ctest_timeout=([0-9]+)" _ "${out}")
  set(multiplier "${CMAKE_MATCH_1}")
  set(timeout "${CMAKE_MATCH_2}")
  if(name STREQUAL "none")
    if(NOT multiplier EQUAL 1 OR NOT timeout EQUAL 25)
      message(FATAL_ERROR "${name}: multiplier ${multiplier}, ctest timeout ${timeout}; "
                          "expected 1 and 10 + 5 + 10")
    endif()
  elseif(NOT multiplier GREATER 1 OR NOT timeout GREATER 25)
    message(FATAL_ERROR "${name}: multiplier ${multiplier}, ctest timeout ${timeout}: the "
                        "sanitizer did not raise them")
  endif()
  message(STATUS "${name}: ${expect}: multiplier ${multiplier}, ctest TIMEOUT ${timeout}")
endforeach()
