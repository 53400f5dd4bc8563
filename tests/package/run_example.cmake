# Configures, builds and tests one example project with real cmake, ninja and
# ctest, then checks that the version-dependent paths really happened.
#
#   cmake -DEXAMPLE=<source> -DWORK=<fresh dir> -DCMAKE_BIN=<cmake> -DCTEST_BIN=<ctest>
#         -DCORRAL_BUILD=<corral build dir> -DMODE=build_tree|installed|cpack
#         [-DKIND=quickstart|heavy|plain] [-DCHECKER=<schedule_check>] [-DJOBS=6]
#         [-DCONFIGURE_ARGS=a;b] [-DSPEC_AT_TEST_TIME=OFF] -P run_example.cmake
#
# SPEC_AT_TEST_TIME=OFF: the example asks for the configure-time spec even on
# CMake 3.28+ (corral_setup(SPEC_AT_TEST_TIME OFF)).
#
# MODE build_tree: Corral_DIR=<corral build dir>. installed: cmake --install into
# WORK/prefix first. cpack: cpack makes the .deb and .tar.gz, the .tar.gz is
# unpacked into an empty WORK/prefix and used from there.
cmake_minimum_required(VERSION 3.16)
include("${CMAKE_CURRENT_LIST_DIR}/package_script.cmake")
package_script_start(run_example.cmake EXAMPLE WORK CMAKE_BIN CTEST_BIN CORRAL_BUILD MODE)
message(STATUS "example ${EXAMPLE} with CMake ${version}, mode ${MODE}")
if(NOT DEFINED KIND)
  set(KIND plain)
endif()
if(NOT DEFINED JOBS)
  set(JOBS 6)
endif()

# expect("a;GREATER;-1" "message"): the condition as a list, one if() argument each.
function(expect condition message_text)
  if(NOT (${condition}))
    message(FATAL_ERROR "${message_text}")
  endif()
endfunction()

# Where the consumer finds Corral.
if(MODE STREQUAL "build_tree")
  set(find_args "-DCorral_DIR=${CORRAL_BUILD}")
elseif(MODE STREQUAL "installed")
  run("cmake --install" "${CMAKE_COMMAND}" --install "${CORRAL_BUILD}" --prefix
           "${WORK}/prefix")
  set(find_args "-DCMAKE_PREFIX_PATH=${WORK}/prefix")
elseif(MODE STREQUAL "cpack")
  get_filename_component(cpack_bin "${CMAKE_COMMAND}" DIRECTORY)
  run("cpack" "${cpack_bin}/cpack" --config "${CORRAL_BUILD}/CPackConfig.cmake" -B
           "${WORK}/packages")
  file(GLOB debs "${WORK}/packages/*.deb")
  file(GLOB tgzs "${WORK}/packages/*.tar.gz")
  list(LENGTH debs deb_count)
  list(LENGTH tgzs tgz_count)
  expect("deb_count;EQUAL;1" "cpack made ${deb_count} .deb files in ${WORK}/packages")
  expect("tgz_count;EQUAL;1" "cpack made ${tgz_count} .tar.gz files in ${WORK}/packages")
  find_program(dpkg_deb dpkg-deb)
  if(dpkg_deb)
    run("dpkg-deb --contents" "${dpkg_deb}" --contents "${debs}")
    foreach(path "usr/bin/corral" "/cmake/Corral/CorralConfig.cmake"
                 "/cmake/Corral/CorralFunctions.cmake" "usr/share/corral/templates")
      string(FIND "${output}" "${path}" at)
      expect("at;GREATER;-1" "the .deb lacks ${path}:\n${output}")
    endforeach()
  endif()
  file(MAKE_DIRECTORY "${WORK}/unpacked")
  run("unpack .tar.gz" "${CMAKE_COMMAND}" -E chdir "${WORK}/unpacked" "${CMAKE_COMMAND}"
           -E tar xzf "${tgzs}")
  file(GLOB prefix LIST_DIRECTORIES true "${WORK}/unpacked/*")
  expect("EXISTS;${prefix}/bin/corral" "the .tar.gz has no bin/corral under ${prefix}")
  set(find_args "-DCMAKE_PREFIX_PATH=${prefix}")
else()
  message(FATAL_ERROR "run_example.cmake: MODE must be build_tree, installed or cpack")
endif()

set(build "${WORK}/build")
run("configure" "${CMAKE_BIN}" -S "${EXAMPLE}" -B "${build}" -G Ninja ${find_args}
         ${CONFIGURE_ARGS})
set(configure_output "${output}")
message("${configure_output}")
run("build" "${CMAKE_BIN}" --build "${build}" --parallel 2)
if(KIND STREQUAL "heavy")
  # corral_setup(POOLS): the planned pools exist and compile/link jobs use them.
  file(READ "${build}/build.ninja" ninja)
  file(READ "${build}/CMakeFiles/rules.ninja" rules)
  string(APPEND ninja "${rules}")
  foreach(text "pool compile" "pool link" "pool = compile" "pool = link")
    string(FIND "${ninja}" "${text}" at)
    expect("at;GREATER;-1" "build.ninja lacks \"${text}\": POOLS did not apply the job pools")
  endforeach()
endif()

string(FIND "${configure_output}" "launcher ON" at)
set(launcher OFF)
if(at GREATER -1)
  set(launcher ON)
endif()

# What the build tree tells ctest, by CMake version: the spec through
# CTEST_RESOURCE_SPEC_FILE (3.18+), made when ctest starts by the include file
# unless the example says SPEC_AT_TEST_TIME OFF; never GENERATED_RESOURCE_SPEC_FILE
# (ctest refuses it beside --resource-spec-file).
file(READ "${build}/CTestTestfile.cmake" testfile)
string(FIND "${testfile}" "CTEST_RESOURCE_SPEC_FILE" at_spec_var)
string(FIND "${testfile}" "GENERATED_RESOURCE_SPEC_FILE" at_generated)
string(FIND "${testfile}" "CorralTestTime.cmake" at_include)
string(FIND "${testfile}" "TIMEOUT_SIGNAL_NAME \"SIGTERM\"" at_signal)
expect("at_generated;EQUAL;-1" "CMake ${version}: GENERATED_RESOURCE_SPEC_FILE used")
file(READ "${build}/CorralResourceSpec.txt" named_spec)
string(STRIP "${named_spec}" named_spec)
set(generated_spec OFF)
if(version VERSION_GREATER_EQUAL 3.18 AND NOT SPEC_AT_TEST_TIME STREQUAL "OFF")
  set(generated_spec ON)
endif()
if(version VERSION_GREATER_EQUAL 3.18)
  expect("at_spec_var;GREATER;-1" "CMake ${version}: CTEST_RESOURCE_SPEC_FILE not set")
endif()
if(generated_spec)
  expect("at_include;GREATER;-1" "CMake ${version}: no CorralTestTime.cmake include")
  set(spec "${build}/corral-plan/test-time/resources.json")
  file(REMOVE "${spec}")
else()
  expect("at_include;EQUAL;-1" "CMake ${version}: CorralTestTime.cmake without the test-time spec")
  set(spec "${build}/corral-plan/resources.json")
endif()
expect("named_spec;STREQUAL;${spec}"
       "CorralResourceSpec.txt names ${named_spec}, not the spec ${spec}")
if(launcher AND version VERSION_GREATER_EQUAL 3.27)
  expect("at_signal;GREATER;-1" "CMake ${version}: launched tests lack TIMEOUT_SIGNAL_NAME")
elseif(version VERSION_LESS 3.27)
  expect("at_signal;EQUAL;-1" "CMake ${version}: TIMEOUT_SIGNAL_NAME set but unsupported")
endif()

run("ctest" "${CTEST_BIN}" --test-dir "${build}" -j ${JOBS} --output-on-failure)
message("${output}")
expect("EXISTS;${spec}" "no resource spec at ${spec} after ctest")
if(KIND STREQUAL "plain")
  # A spec on the command line too (the README recipe, a CI job, a test preset):
  # it wins over the build tree's, and every test still runs.
  run("ctest --resource-spec-file" "${CTEST_BIN}" --test-dir "${build}" -j ${JOBS}
           --resource-spec-file "${build}/corral-plan/resources.json" --no-tests=error
           --output-on-failure)
  string(FIND "${output}" "100% tests passed" all_passed)
  expect("all_passed;GREATER;-1"
         "CMake ${version}: with --resource-spec-file not every test ran:\n${output}")
  if(generated_spec)
    # A misspelt CORRAL_* variable set only for ctest reaches the test-time plan:
    # its did-you-mean is said there, as at configure time (it was dropped).
    run("ctest with CORRAL_MEMROY" "${CMAKE_COMMAND}" -E env CORRAL_MEMROY=1G
        "${CTEST_BIN}" --test-dir "${build}" -j ${JOBS} --no-tests=error)
    string(FIND "${output}" "CORRAL_MEMROY: not a corral variable, ignored; did you mean CORRAL_MEMORY?"
           said)
    expect("said;GREATER;-1"
           "CMake ${version}: a misspelt CORRAL_* at ctest time was not said:\n${output}")
  endif()
endif()

if(KIND STREQUAL "heavy")
  # plain.add_test is made by add_test: corral_setup() covers it on every CMake.
  set(expect_plain no)
  if(launcher)
    set(expect_plain yes)
  endif()
  set(expect_launched no)
  set(records_args "")
  if(launcher)
    set(expect_launched yes)
    set(records_args --records "${build}/corral-plan/records.jsonl")
  endif()
  execute_process(
    COMMAND "${CHECKER}" --log "${build}/schedule.log" --spec "${spec}" --expect-launched
            ${expect_launched} --expect-plain-launched ${expect_plain} ${records_args}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  # The daemon left by daemon.leaves: the launcher must have killed it.
  set(leaked "")
  if(EXISTS "${build}/daemon.pid")
    file(STRINGS "${build}/daemon.pid" pids)
    foreach(pid IN LISTS pids)
      if(EXISTS "/proc/${pid}/cmdline")
        file(READ "/proc/${pid}/cmdline" cmdline)
        string(FIND "${cmdline}" "${build}/heavy_worker" ours)
        if(ours GREATER -1)
          list(APPEND leaked ${pid})
          execute_process(COMMAND kill -KILL ${pid})  # ours, by pid
        endif()
      endif()
    endforeach()
  else()
    message(FATAL_ERROR "daemon.leaves wrote no ${build}/daemon.pid")
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "schedule_check failed (exit ${rc})")
  endif()
  if(leaked AND launcher)
    message(FATAL_ERROR "the daemon left by daemon.leaves (pid ${leaked}) outlived ctest")
  elseif(leaked)
    message(STATUS "no launcher: killed the leaked daemon ${leaked} ourselves")
  endif()
endif()
message(STATUS "example passed")
