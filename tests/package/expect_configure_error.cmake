# Configures PROJECT with -DCASE=<case> and passes only if configuration fails
# and its output matches EXPECT (a regular expression).
#   cmake -DPROJECT=dir -DWORK=dir -DCASE=name -DEXPECT=regex -DCORRAL_BUILD=dir -P ...
cmake_minimum_required(VERSION 3.16)
file(REMOVE_RECURSE "${WORK}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${PROJECT}" -B "${WORK}" -G Ninja "-DCASE=${CASE}"
          "-DCorral_DIR=${CORRAL_BUILD}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
# CMake wraps long messages; compare on one line.
string(REGEX REPLACE "[ \n]+" " " text "${out}${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "case ${CASE}: configuration succeeded; expected it to fail with "
                      "\"${EXPECT}\"\n${out}${err}")
endif()
if(NOT text MATCHES "${EXPECT}")
  message(FATAL_ERROR "case ${CASE}: configuration failed, but without \"${EXPECT}\":\n"
                      "${out}${err}")
endif()
message(STATUS "case ${CASE}: failed as promised: ${CMAKE_MATCH_0}")
