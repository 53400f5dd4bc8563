# The file-length rule (HACKING.md "Conventions"): a source over ~400 lines
# (here: more than 420) says why in its first five lines, with the words
# "Over ~400 lines on purpose". Sources: C++ and CMake under src/, generator/,
# cmake/ and tests/. Run by ctest (style.file_length):
#   cmake -DSOURCE_DIR=<repo> -P check_file_length.cmake
cmake_policy(SET CMP0009 NEW)  # never follow symlinks out of the tree
set(limit 420)
set(sources "")
foreach(dir src generator cmake tests)
  file(GLOB_RECURSE found "${SOURCE_DIR}/${dir}/*.cpp" "${SOURCE_DIR}/${dir}/*.hpp"
       "${SOURCE_DIR}/${dir}/*.h" "${SOURCE_DIR}/${dir}/*.cmake" "${SOURCE_DIR}/${dir}/*.in"
       "${SOURCE_DIR}/${dir}/CMakeLists.txt")
  list(APPEND sources ${found})
endforeach()
list(FILTER sources EXCLUDE REGEX "/tests/data/")  # recorded hosts and inputs, not sources
list(LENGTH sources count)
if(count LESS 10)
  message(FATAL_ERROR "found only ${count} sources under ${SOURCE_DIR}: wrong SOURCE_DIR?")
endif()
set(offences "")
set(long 0)
foreach(file IN LISTS sources)
  # file(STRINGS) drops empty lines; count newlines instead.
  file(READ "${file}" text)
  string(REGEX REPLACE "[^\n]" "" newlines "${text}")
  string(LENGTH "${newlines}" lines)
  if(lines GREATER limit)
    math(EXPR long "${long} + 1")
    file(STRINGS "${file}" head LIMIT_COUNT 5)
    string(FIND "${head}" "Over ~400 lines on purpose" at)
    if(at EQUAL -1)
      file(RELATIVE_PATH rel "${SOURCE_DIR}" "${file}")
      string(APPEND offences "  ${rel}: ${lines} lines\n")
    endif()
  endif()
endforeach()
if(offences)
  message(FATAL_ERROR "over ${limit} lines without \"Over ~400 lines on purpose: <why>\" "
                      "in the first five lines (split the file, or say why not):\n${offences}")
endif()
message(STATUS "${count} sources; the ${long} over ${limit} lines each say why")
