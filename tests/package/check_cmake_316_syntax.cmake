# The package files must parse and run on CMake 3.16: no command or feature
# newer than 3.16 outside a version guard. This machine has no CMake 3.16, so
# this lint names the newer features that would break it. A line that runs
# only behind a version check ends with "# guarded: <version>".
#   cmake "-DFILES=a|b" -P check_cmake_316_syntax.cmake
set(newer
    "string\\(JSON" "3.19"
    "cmake_path\\(" "3.20"
    "CMAKE_CURRENT_FUNCTION_LIST_DIR" "3.17"
    "ZIP_LISTS" "3.17"
    "block\\(" "3.25"
    "PROPAGATE" "3.25"
    "\\$<LIST:" "3.27"
    "file\\(REAL_PATH" "3.19"
    "file\\(CHMOD" "3.19"
    "cmake_language\\(" "3.18"
    "PROJECT_IS_TOP_LEVEL" "3.21")
string(REPLACE "|" ";" FILES "${FILES}")
set(problems "")
foreach(file IN LISTS FILES)
  file(STRINGS "${file}" lines)
  set(line_no 0)
  foreach(line IN LISTS lines)
    math(EXPR line_no "${line_no} + 1")
    if(line MATCHES "^ *#")
      continue()
    endif()
    # A line behind a version check says so: "# guarded: 3.19".
    if(line MATCHES "# guarded: [0-9.]+$")
      continue()
    endif()
    set(i 0)
    list(LENGTH newer n)
    while(i LESS n)
      list(GET newer ${i} pattern)
      math(EXPR j "${i} + 1")
      list(GET newer ${j} since)
      if(line MATCHES "${pattern}")
        string(APPEND problems "${file}:${line_no}: uses a CMake ${since} feature: ${line}\n")
      endif()
      math(EXPR i "${i} + 2")
    endwhile()
  endforeach()
endforeach()
if(problems)
  message(FATAL_ERROR "${problems}")
endif()
message(STATUS "no post-3.16 features in: ${FILES}")
