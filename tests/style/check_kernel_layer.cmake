# The kernel layer rule (HACKING.md "Conventions"): only src/kernel/ names the
# process table ("/proc/"), pidfd_open or kill(, or makes a process with
# fork( or ::clone( — everything else calls into it (kernel/process.hpp,
# kernel/paths.hpp, kernel/host.hpp, kernel/spawn.hpp). No exemption for
# comments or strings: a comment that names a /proc path is written with the
# man page instead (proc_pid_stat(5)). Run by ctest (style.kernel_layer):
#   cmake -DSOURCE_DIR=<repo> -P check_kernel_layer.cmake
cmake_policy(SET CMP0009 NEW)  # never follow symlinks out of the tree
set(sources "")
foreach(dir src generator)
  file(GLOB_RECURSE found "${SOURCE_DIR}/${dir}/*.cpp" "${SOURCE_DIR}/${dir}/*.hpp"
       "${SOURCE_DIR}/${dir}/*.h" "${SOURCE_DIR}/${dir}/*.in")
  list(APPEND sources ${found})
endforeach()
list(LENGTH sources count)
if(count LESS 10)
  message(FATAL_ERROR "found only ${count} sources under ${SOURCE_DIR}: wrong SOURCE_DIR?")
endif()
set(offences "")
set(checked 0)
foreach(file IN LISTS sources)
  file(RELATIVE_PATH rel "${SOURCE_DIR}" "${file}")
  if(rel MATCHES "^src/kernel/")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  file(STRINGS "${file}" lines)
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    foreach(word "/proc/" "pidfd_open" "kill(" "fork(" "::clone(")
      string(FIND "${line}" "${word}" at)
      if(NOT at EQUAL -1)
        string(STRIP "${line}" shown)
        string(APPEND offences "  ${rel}:${n}: '${word}': ${shown}\n")
      endif()
    endforeach()
  endforeach()
endforeach()
if(offences)
  message(FATAL_ERROR "outside src/kernel/ (call kernel/process.hpp, kernel/paths.hpp or "
                      "kernel/host.hpp or kernel/spawn.hpp instead):\n${offences}")
endif()
message(STATUS "${checked} sources outside src/kernel/ name no /proc/, pidfd_open, kill(, fork( or ::clone(")
