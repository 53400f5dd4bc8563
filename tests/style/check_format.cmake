# Fails when a C++ source under the project is not formatted by the root
# .clang-format. Run by ctest (test style.clang_format):
#   cmake -DCLANG_FORMAT=clang-format -DSOURCE_DIR=<repo> -P check_format.cmake
# Do not follow symlinks: recorded trees under tests/data hold links such as
# proc/1/cwd -> / (script mode defaults to the OLD, following behaviour).
cmake_policy(SET CMP0009 NEW)
if(NOT CLANG_FORMAT)
  message(FATAL_ERROR "clang-format not found: install it (Debian: apt-get install clang-format)")
endif()
set(sources "")
foreach(dir src generator tests examples bench)
  file(GLOB_RECURSE found "${SOURCE_DIR}/${dir}/*.cpp" "${SOURCE_DIR}/${dir}/*.hpp")
  list(APPEND sources ${found})
endforeach()
list(LENGTH sources count)
if(count LESS 10)
  message(FATAL_ERROR "found only ${count} sources under ${SOURCE_DIR}: wrong SOURCE_DIR?")
endif()
execute_process(
  COMMAND "${CLANG_FORMAT}" --dry-run --Werror ${sources}
  WORKING_DIRECTORY "${SOURCE_DIR}"
  RESULT_VARIABLE rc
  ERROR_VARIABLE diagnostics)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "not formatted (fix with clang-format -i <file>):\n${diagnostics}")
endif()
message(STATUS "${count} sources formatted as .clang-format says")
