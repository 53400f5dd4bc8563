# Configures tests/package/subproject (add_subdirectory of Corral) and checks
# that its test runs the corral program this build makes, under the launcher.
#   cmake -DSOURCE=dir -DWORK=dir -DCORRAL_SOURCE=dir -P check_subproject.cmake
cmake_minimum_required(VERSION 3.16)
file(REMOVE_RECURSE "${WORK}")
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE}" -B "${WORK}" -G Ninja
                        "-DCORRAL_SOURCE=${CORRAL_SOURCE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the subproject consumer failed:\n${out}${err}")
endif()
file(READ "${WORK}/CTestTestfile.cmake" testfile)
set(program "${WORK}/corral/bin/corral")
string(FIND "${testfile}" "sub.echo" at_test)
string(FIND "${testfile}" "\"${program}\" \"run\"" at_run)
if(at_test EQUAL -1 OR at_run EQUAL -1)
  message(FATAL_ERROR "sub.echo does not run ${program} run ...:\n${testfile}")
endif()
string(FIND "${testfile}" "set(CTEST_RESOURCE_SPEC_FILE \"${WORK}/corral-plan/resources.json\")"
       at_spec)
if(at_spec EQUAL -1)
  message(FATAL_ERROR "CTEST_RESOURCE_SPEC_FILE does not point at the build-time spec")
endif()
file(READ "${WORK}/build.ninja" ninja)
string(FIND "${ninja}" "${program} generate --out ${WORK}/corral-plan" at)
if(at EQUAL -1)
  message(FATAL_ERROR "build.ninja has no rule running \"${program} generate\"")
endif()
message(STATUS "subproject consumer: Corral::corral -> ${program}; spec made at build time")
