# What the end-to-end scripts of tests/package (check_*.cmake, run_example.cmake)
# share: include()d right after their cmake_minimum_required, run by this
# build's cmake -P (CMake 3.16+). The project each drives is configured with
# CMAKE_BIN, which may be another CMake version.

# package_script_start(<script> <required -D variable>...): stops naming each
# -D<VAR>=... the command line lacks; when CMAKE_BIN (or a CTEST_BIN given) is
# not installed, prints CORRAL_SKIP: (the tests' SKIP_REGULAR_EXPRESSION) and
# returns from the calling script (a macro: "a return() in a macro body ...
# returns from the scope of the macro call", CMake's macro() docs). Else empties WORK and sets `version` to
# CMAKE_BIN's x.y.z.
macro(package_script_start script)
  foreach(_package_var ${ARGN})
    if(NOT DEFINED ${_package_var})
      message(FATAL_ERROR "${script}: -D${_package_var}=... is required")
    endif()
  endforeach()
  if(NOT EXISTS "${CMAKE_BIN}" OR (DEFINED CTEST_BIN AND NOT EXISTS "${CTEST_BIN}"))
    message("CORRAL_SKIP: ${CMAKE_BIN} is not installed (./bootstrap installs the test-only "
            "CMake versions into build/tools)")
    return()
  endif()
  file(REMOVE_RECURSE "${WORK}")
  file(MAKE_DIRECTORY "${WORK}")
  execute_process(COMMAND "${CMAKE_BIN}" --version OUTPUT_VARIABLE _package_version_text)
  string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" version "${_package_version_text}")
endmacro()

# run(<what> <command> <arg>...): runs the command; `output` is its stdout and
# stderr. Stops with the command line and that output unless it exits 0.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(output "${out}${err}" PARENT_SCOPE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (exit ${rc}):\n  ${ARGN}\n${out}${err}")
  endif()
  message(STATUS "${what}: ok")
endfunction()
