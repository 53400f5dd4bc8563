# Corral's CMake functions: host-bounded tests for a CMake project.
#
#   corral_setup([CONFIG file] [OUTPUT_DIR dir] [POOLS] [SPEC_AT_TEST_TIME AUTO|ON|OFF]
#                [CPUS n] [MEMORY size] [LAUNCHER AUTO|ON|OFF] [GRACE s]
#                [TIMEOUT_MARGIN s] [SCOPE_DIR dir] [RECORDS file] [LEAK fail|warn|ignore])
#   corral_test_defaults([MEMORY size] [CPUS n] [TIMEOUT s] [HEAVY_IO] [GPUS n]
#                        [LOCKS name...] [LABELS label...] [SCRATCH])
#   corral_add_test(NAME name COMMAND cmd [args...] [MEMORY size] [CPUS n] [HEAVY_IO]
#                   [GPUS n] [LOCKS name...] [TIMEOUT s] [SCRATCH] [LABELS label...]
#                   [WORKING_DIRECTORY dir] [ENVIRONMENT VAR=value...])
#   corral_test_properties(<out-var> [LAUNCHED] <the corral_add_test options>)
#   corral_test_launcher(<target> [TIMEOUT s] [LOCKS name...])      # CMake >= 3.29
#
# docs/cmake.md documents every option and what each CMake version gets.
#
# Written for CMake 3.16: no string(JSON) (3.19), no cmake_path (3.20), no
# CMAKE_CURRENT_FUNCTION_LIST_DIR (3.17); newer features sit behind version checks.

if(CMAKE_VERSION VERSION_LESS 3.16)
  message(FATAL_ERROR "Corral needs CMake 3.16 or newer (CTest resource allocation); "
                      "this is CMake ${CMAKE_VERSION}.")
endif()

# ---------------------------------------------------------------- helpers

# Test name (or function name) every error message starts with.
macro(_corral_fail context)
  message(FATAL_ERROR "${context}: ${ARGN}")
endmacro()

# The value grammar: the CMake half of src/common/units.{hpp,cpp}. Both are held
# to the one table tests/data/units-cases.json (tests/common/units_cases.cmake);
# docs/policy.md "Sizes, durations and switches" states the rules.

# True (in `out`) when the digit string `a` is greater than the digit string `b`
# (no leading zeros): exact for any length, unlike if(GREATER), which compares doubles.
function(_corral_digits_greater out a b)
  string(LENGTH "${a}" la)
  string(LENGTH "${b}" lb)
  if(la GREATER lb OR (la EQUAL lb AND a STRGREATER b))
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

# Size -> bytes in `out_bytes`, or the reason in `out_error` (then bytes is "").
# Units are binary: K = KiB = 2^10 ... T = TiB = 2^40, B = bytes; KB/MB/GB/TB are
# rejected as ambiguous; a unit is required except for 0; up to 9 decimal
# places, a fraction of a byte rounds up; at most 2^62 bytes. Exact in 64-bit
# integer math: bytes = whole * 2^s + ceil(frac * 2^s / 10^d).
function(_corral_size_bytes out_bytes out_error value)
  set(${out_bytes} "" PARENT_SCOPE)
  set(rule "expected a number with a binary unit: K, M, G, T (or KiB, MiB, GiB, TiB; powers of 1024) or B, such as 512M, 2G or 1.5GiB")
  string(STRIP "${value}" v)
  if(NOT v MATCHES "^([0-9]+)(\\.([0-9]+))?( ?)([A-Za-z]*)$")
    set(${out_error} "\"${value}\": ${rule}" PARENT_SCOPE)
    return()
  endif()
  set(whole "${CMAKE_MATCH_1}")
  set(dot "${CMAKE_MATCH_2}")
  set(frac "${CMAKE_MATCH_3}")
  set(unit_text "${CMAKE_MATCH_5}")
  string(TOUPPER "${CMAKE_MATCH_5}" unit)
  if(unit STREQUAL "")
    if(whole MATCHES "^0+$" AND (frac STREQUAL "" OR frac MATCHES "^0+$"))
      set(${out_bytes} 0 PARENT_SCOPE)
      set(${out_error} "" PARENT_SCOPE)
    else()
      set(${out_error} "\"${value}\": a unit is required (a bare number could mean bytes or MiB); ${rule}" PARENT_SCOPE)
    endif()
    return()
  endif()
  if(unit MATCHES "^([KMGT])B$")
    set(b "${CMAKE_MATCH_1}")
    set(p 10)
    if(b STREQUAL "M")
      set(p 20)
    elseif(b STREQUAL "G")
      set(p 30)
    elseif(b STREQUAL "T")
      set(p 40)
    endif()
    set(${out_error} "\"${value}\": \"${unit_text}\" is ambiguous (10^n or 2^n bytes?); corral's sizes are binary: write ${whole}${dot}${b} or ${whole}${dot}${b}iB (${b} = 2^${p})" PARENT_SCOPE)
    return()
  endif()
  if(unit STREQUAL "B")
    set(shift 0)
    set(limit 4611686018427387904)
  elseif(unit MATCHES "^K(IB)?$")
    set(shift 10)
    set(limit 4503599627370496)
  elseif(unit MATCHES "^M(IB)?$")
    set(shift 20)
    set(limit 4398046511104)
  elseif(unit MATCHES "^G(IB)?$")
    set(shift 30)
    set(limit 4294967296)
  elseif(unit MATCHES "^T(IB)?$")
    set(shift 40)
    set(limit 4194304)
  else()
    set(${out_error} "\"${value}\": ${rule}" PARENT_SCOPE)
    return()
  endif()
  string(LENGTH "${frac}" d)
  if(d GREATER 9)
    set(${out_error} "\"${value}\": at most 9 decimal places" PARENT_SCOPE)
    return()
  endif()
  set(too_big "\"${value}\": larger than the largest size, 4 EiB (2^62 bytes)")
  string(REGEX REPLACE "^0+" "" whole "${whole}")
  if(whole STREQUAL "")
    set(whole 0)
  endif()
  _corral_digits_greater(over "${whole}" "${limit}")
  if(over)
    set(${out_error} "${too_big}" PARENT_SCOPE)
    return()
  endif()
  math(EXPR bytes "${whole} << ${shift}")
  if(d GREATER 0)
    string(REGEX REPLACE "^0+" "" f "${frac}")
    if(f STREQUAL "")
      set(f 0)
    endif()
    # 2^s / 10^d = 2^(s-c) / (2^(d-c) * 5^d), c = min(s, d): no overflow for d <= 9.
    set(c ${d})
    if(shift LESS d)
      set(c ${shift})
    endif()
    math(EXPR num "${f} << (${shift} - ${c})")
    math(EXPR den "1 << (${d} - ${c})")
    foreach(i RANGE 1 ${d})
      math(EXPR den "${den} * 5")
    endforeach()
    math(EXPR bytes "${bytes} + (${num} + ${den} - 1) / ${den}")
  endif()
  _corral_digits_greater(over "${bytes}" 4611686018427387904)
  if(over)
    set(${out_error} "${too_big}" PARENT_SCOPE)
    return()
  endif()
  set(${out_bytes} ${bytes} PARENT_SCOPE)
  set(${out_error} "" PARENT_SCOPE)
endfunction()

# Parses a size (the grammar above) into whole MiB, rounded up, or stops
# configuration with the reason.
function(_corral_parse_size out value context keyword)
  _corral_size_bytes(bytes error "${value}")
  if(NOT error STREQUAL "")
    _corral_fail("${context}" "${keyword} ${error}")
  endif()
  math(EXPR mib "(${bytes} + 1048575) / 1048576")
  set(${out} ${mib} PARENT_SCOPE)
endfunction()

# A lock name's error ("" when valid): 1 to 100 of A-Z a-z 0-9 . _ -, not
# starting with '.'; the rule of units::parse_lock_name.
function(_corral_lock_name_error out name)
  string(LENGTH "${name}" n)
  if(NOT name MATCHES "^[A-Za-z0-9_.-]*$" OR n EQUAL 0 OR n GREATER 100 OR name MATCHES "^[.]")
    set(${out} "\"${name}\": a name is 1 to 100 of A-Z a-z 0-9 . _ -, not starting with '.'"
        PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

# GRACE's error ("" when valid): a whole number of seconds from 0 to 3600; the
# rule of units::parse_grace.
function(_corral_grace_error out value)
  string(STRIP "${value}" v)
  string(REGEX REPLACE "^0+([0-9])" "\\1" v "${v}")
  set(over FALSE)
  if(v MATCHES "^[0-9]+$")
    _corral_digits_greater(over "${v}" 3600)
  endif()
  if(NOT v MATCHES "^[0-9]+$" OR over)
    set(${out} "\"${value}\": expected a whole number of seconds from 0 to 3600" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

# A whole number >= minimum, or a configuration error naming the keyword.
function(_corral_check_count value minimum context keyword)
  if(NOT "${value}" MATCHES "^[0-9]+$" OR "${value}" LESS ${minimum})
    if(minimum GREATER 0)
      set(what "a positive whole number")
    else()
      set(what "a whole number (0 or more)")
    endif()
    _corral_fail("${context}" "${keyword} \"${value}\" must be ${what}")
  endif()
endfunction()

function(_corral_check_names values context keyword)
  foreach(name IN LISTS values)
    _corral_lock_name_error(error "${name}")
    if(NOT error STREQUAL "")
      _corral_fail("${context}" "${keyword} name ${error}")
    endif()
  endforeach()
endfunction()

# seconds x multiplier (a decimal like 1.5 or 2), rounded up, in integer math.
function(_corral_scale out seconds multiplier)
  set(whole 1)
  set(frac 000)
  if("${multiplier}" MATCHES "^([0-9]+)(\\.([0-9]+))?$")
    set(whole "${CMAKE_MATCH_1}")
    set(frac "${CMAKE_MATCH_3}000")
    string(SUBSTRING "${frac}" 0 3 frac)
  endif()
  math(EXPR scaled "(${seconds} * (${whole} * 1000 + ${frac}) + 999) / 1000")
  if(scaled LESS 1)
    set(scaled 1)
  endif()
  set(${out} ${scaled} PARENT_SCOPE)
endfunction()

function(_corral_get name out)
  get_property(value GLOBAL PROPERTY CORRAL_${name})
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

function(_corral_set name)
  set_property(GLOBAL PROPERTY CORRAL_${name} "${ARGN}")
endfunction()

# The corral program: the real target when Corral was added with add_subdirectory
# (built before the tests run), else the imported Corral::corral.
function(_corral_program out_genex out_path out_imported)
  if(NOT TARGET Corral::corral)
    message(FATAL_ERROR "Corral: the Corral::corral target is missing; use "
                        "find_package(Corral) or add_subdirectory(<corral source>) first.")
  endif()
  set(target Corral::corral)
  get_target_property(aliased Corral::corral ALIASED_TARGET)
  if(aliased)
    set(target ${aliased})
  endif()
  get_target_property(imported ${target} IMPORTED)
  set(path "")
  if(imported)
    get_target_property(path ${target} LOCATION)
  endif()
  set(${out_genex} "$<TARGET_FILE:${target}>" PARENT_SCOPE)
  set(_corral_program_target "${target}" PARENT_SCOPE)
  set(${out_path} "${path}" PARENT_SCOPE)
  set(${out_imported} "${imported}" PARENT_SCOPE)
endfunction()

# ---------------------------------------------------------------- corral_setup

function(corral_setup)
  set(context "corral_setup")
  cmake_parse_arguments(
    PARSE_ARGV 0 arg "POOLS"
    "CONFIG;OUTPUT_DIR;SPEC_AT_TEST_TIME;CPUS;MEMORY;LAUNCHER;GRACE;TIMEOUT_MARGIN;SCOPE_DIR;RECORDS;LEAK"
    "")
  if(arg_UNPARSED_ARGUMENTS)
    _corral_fail("${context}" "unknown argument(s) \"${arg_UNPARSED_ARGUMENTS}\"; expected "
                 "CONFIG, OUTPUT_DIR, POOLS, SPEC_AT_TEST_TIME, CPUS, MEMORY, LAUNCHER, "
                 "GRACE, TIMEOUT_MARGIN, SCOPE_DIR, RECORDS or LEAK")
  endif()
  if(arg_KEYWORDS_MISSING_VALUES)
    _corral_fail("${context}" "${arg_KEYWORDS_MISSING_VALUES} needs a value")
  endif()
  _corral_get(SETUP_DONE done)
  if(done)
    _corral_fail("${context}" "called twice; call it once, in the top-level CMakeLists.txt")
  endif()
  if(NOT CMAKE_CURRENT_SOURCE_DIR STREQUAL CMAKE_SOURCE_DIR)
    message(WARNING "corral_setup: called outside the top-level CMakeLists.txt; "
                    "CTEST_RESOURCE_SPEC_FILE only reaches ctest from the top level.")
  endif()

  # Command-line cache variables CORRAL_CPUS / CORRAL_MEMORY plan for another
  # machine shape (-DCORRAL_MEMORY=4G), like the generator's --cpus/--memory.
  if(NOT DEFINED arg_CPUS AND DEFINED CORRAL_CPUS AND NOT CORRAL_CPUS STREQUAL "")
    set(arg_CPUS "${CORRAL_CPUS}")
  endif()
  if(NOT DEFINED arg_MEMORY AND DEFINED CORRAL_MEMORY AND NOT CORRAL_MEMORY STREQUAL "")
    set(arg_MEMORY "${CORRAL_MEMORY}")
  endif()
  if(DEFINED arg_CPUS)
    _corral_check_count("${arg_CPUS}" 1 "${context}" CPUS)
  endif()
  if(DEFINED arg_MEMORY)
    _corral_parse_size(_unused "${arg_MEMORY}" "${context}" MEMORY)
  endif()
  foreach(kw SPEC_AT_TEST_TIME LAUNCHER)
    if(NOT DEFINED arg_${kw})
      set(arg_${kw} AUTO)
    endif()
    string(TOUPPER "${arg_${kw}}" upper)
    if(NOT upper MATCHES "^(AUTO|ON|OFF)$")
      _corral_fail("${context}" "${kw} \"${arg_${kw}}\" must be AUTO, ON or OFF")
    endif()
    set(arg_${kw} ${upper})
  endforeach()
  if(NOT DEFINED arg_GRACE)
    set(arg_GRACE 5)  # = src/common/defaults.hpp (tests/common/units_cases.cmake)
  endif()
  _corral_grace_error(error "${arg_GRACE}")
  if(NOT error STREQUAL "")
    _corral_fail("${context}" "GRACE ${error}")
  endif()
  if(NOT DEFINED arg_TIMEOUT_MARGIN)
    set(arg_TIMEOUT_MARGIN 10)
  endif()
  _corral_check_count("${arg_TIMEOUT_MARGIN}" 1 "${context}" TIMEOUT_MARGIN)
  if(DEFINED arg_LEAK AND NOT arg_LEAK MATCHES "^(fail|warn|ignore)$")
    _corral_fail("${context}" "LEAK \"${arg_LEAK}\" must be fail, warn or ignore")
  endif()
  if(NOT DEFINED arg_OUTPUT_DIR)
    # Not <build>/corral: that is where add_subdirectory(corral) puts Corral itself.
    set(arg_OUTPUT_DIR "${CMAKE_BINARY_DIR}/corral-plan")
  endif()
  get_filename_component(out "${arg_OUTPUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_BINARY_DIR}")
  file(MAKE_DIRECTORY "${out}")

  set(generate_args generate --out)
  set(options_args "")
  if(DEFINED arg_CONFIG)
    get_filename_component(config "${arg_CONFIG}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${config}")
      _corral_fail("${context}" "CONFIG file \"${config}\" does not exist")
    endif()
    list(APPEND options_args --config "${config}")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${config}")
  endif()
  if(DEFINED arg_CPUS)
    list(APPEND options_args --cpus "${arg_CPUS}")
  endif()
  if(DEFINED arg_MEMORY)
    list(APPEND options_args --memory "${arg_MEMORY}")
  endif()

  _corral_program(corral_genex corral_path imported)

  # Configure-time plan: only possible when the program already exists (an
  # installed or build-tree package). As a subproject, corral is built by this
  # very build, so the plan is produced at build time (target corral_generate)
  # and picked up by the next configure.
  if(imported)
    execute_process(
      COMMAND "${corral_path}" generate --out "${out}" ${options_args}
      RESULT_VARIABLE rc
      OUTPUT_VARIABLE gen_out
      ERROR_VARIABLE gen_err)
    if(NOT rc EQUAL 0)
      _corral_fail("${context}" "\"${corral_path} generate --out ${out} ${options_args}\" "
                   "failed (exit ${rc}):\n${gen_err}${gen_out}")
    endif()
  else()
    add_custom_command(
      OUTPUT "${out}/resources.json" "${out}/plan.json"
      COMMAND ${corral_genex} generate --out "${out}" ${options_args}
      DEPENDS ${_corral_program_target} ${config}
      COMMENT "corral: probing this host and writing the plan into ${out}"
      VERBATIM)
    add_custom_target(corral_generate ALL DEPENDS "${out}/resources.json")
  endif()

  # The plan's numbers (CORRAL_PLAN_*), when a plan exists.
  set(CORRAL_PLAN_TIMEOUT_MULTIPLIER 1)
  set(CORRAL_PLAN_TEST_TIMEOUT 1500)  # = src/common/defaults.hpp (tests/common/units_cases.cmake)
  if(EXISTS "${out}/plan.cmake")
    include("${out}/plan.cmake")
  elseif(imported)
    _corral_fail("${context}" "\"corral generate\" did not write ${out}/plan.cmake")
  else()
    message(STATUS "Corral: no plan yet (corral is built by this project); the timeout "
                   "multiplier and pools apply after the first build and a re-configure")
  endif()

  # Is the launcher there? (corral run, from the runtime; corral reap likewise.)
  set(use_launcher OFF)
  set(have_reap OFF)
  if(imported)
    execute_process(COMMAND "${corral_path}" run --help RESULT_VARIABLE run_rc
                    OUTPUT_QUIET ERROR_QUIET)
    execute_process(COMMAND "${corral_path}" reap --help RESULT_VARIABLE reap_rc
                    OUTPUT_QUIET ERROR_QUIET)
    if(run_rc EQUAL 0)
      set(use_launcher ON)
    endif()
    if(reap_rc EQUAL 0)
      set(have_reap ON)
    endif()
  else()
    set(use_launcher ON)
    set(have_reap ON)
  endif()
  if(arg_LAUNCHER STREQUAL "OFF")
    set(use_launcher OFF)
  elseif(arg_LAUNCHER STREQUAL "ON" AND NOT use_launcher)
    _corral_fail("${context}" "LAUNCHER ON, but \"${corral_path} run --help\" failed: this "
                 "corral has no launcher")
  endif()

  # Spec at test time (CMake >= 3.28): the machine that runs ctest decides.
  set(spec_at_test_time OFF)
  if(arg_SPEC_AT_TEST_TIME STREQUAL "ON")
    if(CMAKE_VERSION VERSION_LESS 3.28)
      _corral_fail("${context}" "SPEC_AT_TEST_TIME ON needs CMake 3.28 "
                   "(GENERATED_RESOURCE_SPEC_FILE); this is ${CMAKE_VERSION}")
    endif()
    set(spec_at_test_time ON)
  elseif(arg_SPEC_AT_TEST_TIME STREQUAL "AUTO" AND NOT CMAKE_VERSION VERSION_LESS 3.28)
    set(spec_at_test_time ON)
  endif()

  set(fixture corral)
  if(spec_at_test_time)
    set(test_time_dir "${out}/test-time")
    add_test(NAME corral.spec COMMAND ${corral_genex} generate --out "${test_time_dir}"
                                      ${options_args})
    set_tests_properties(
      corral.spec PROPERTIES FIXTURES_SETUP ${fixture} GENERATED_RESOURCE_SPEC_FILE
                             "${test_time_dir}/resources.json" TIMEOUT 300 LABELS corral)
    set(spec_file "${test_time_dir}/resources.json")
    set(plan_json "${test_time_dir}/plan.json")
  else()
    set(spec_file "${out}/resources.json")
    set(plan_json "${out}/plan.json")
    if(CMAKE_VERSION VERSION_LESS 3.18)
      message(STATUS "Corral: CMake ${CMAKE_VERSION} has no CTEST_RESOURCE_SPEC_FILE; run "
                     "ctest --resource-spec-file ${spec_file}")
    else()
      set(CTEST_RESOURCE_SPEC_FILE "${spec_file}" PARENT_SCOPE)
    endif()
  endif()

  # Scope: every test's scratch directory lives under it, and the cleanup
  # fixture reaps whatever is still running there. Short, so socket paths fit.
  if(NOT DEFINED arg_SCOPE_DIR)
    set(scratch_base "${CORRAL_PLAN_SCRATCH_DIR}")
    if(scratch_base STREQUAL "")
      set(scratch_base "/tmp")
    endif()
    string(MD5 build_hash "${CMAKE_BINARY_DIR}")
    string(SUBSTRING "${build_hash}" 0 8 build_hash)
    set(arg_SCOPE_DIR "${scratch_base}/corral-${build_hash}")
  endif()
  set(scope "${arg_SCOPE_DIR}")
  file(MAKE_DIRECTORY "${scope}")
  if(have_reap)
    add_test(NAME corral.reap COMMAND ${corral_genex} reap --scope "${scope}" --grace
                                      ${arg_GRACE})
    set_tests_properties(corral.reap PROPERTIES FIXTURES_CLEANUP ${fixture} TIMEOUT 120
                                                LABELS corral)
  else()
    message(STATUS "Corral: this corral has no \"reap\"; no cleanup fixture")
  endif()

  if(NOT DEFINED arg_RECORDS)
    set(arg_RECORDS "${out}/records.jsonl")
  endif()

  set(launcher "")
  set(launcher_for_targets "")
  if(use_launcher)
    # --timeout-multiplier 1: the timeouts we pass are already scaled, so the
    # launcher and CTest agree on them to the second.
    set(launcher ${corral_genex} run --grace ${arg_GRACE} --timeout-multiplier 1
                 --scratch-root "${scope}" --plan
                 "${plan_json}" --records "${arg_RECORDS}")
    if(DEFINED arg_LEAK)
      list(APPEND launcher --leak ${arg_LEAK})
    endif()
    # TEST_LAUNCHER also runs at build time (gtest_discover_tests lists the
    # tests through it), before any test-time plan exists: use the configure-time one.
    string(REPLACE "${plan_json}" "${out}/plan.json" launcher_for_targets "${launcher}")
  endif()

  if(arg_POOLS)
    if(EXISTS "${out}/pools.cmake")
      include("${out}/pools.cmake")
      set(CMAKE_JOB_POOL_COMPILE "${CMAKE_JOB_POOL_COMPILE}" PARENT_SCOPE)
      set(CMAKE_JOB_POOL_LINK "${CMAKE_JOB_POOL_LINK}" PARENT_SCOPE)
      if(DEFINED CMAKE_JOB_POOLS)
        set(CMAKE_JOB_POOLS "${CMAKE_JOB_POOLS}" PARENT_SCOPE)
      endif()
      if(NOT CMAKE_GENERATOR MATCHES "Ninja")
        message(STATUS "Corral: POOLS has effect only with Ninja generators "
                       "(this is ${CMAKE_GENERATOR})")
      endif()
    elseif(imported)
      _corral_fail("${context}" "POOLS: \"corral generate\" did not write ${out}/pools.cmake")
    endif()
  endif()

  # Hand the plan's numbers to the caller (CORRAL_PLAN_*), and remember ours.
  get_cmake_property(all_vars VARIABLES)
  foreach(var IN LISTS all_vars)
    if(var MATCHES "^CORRAL_PLAN_")
      set(${var} "${${var}}" PARENT_SCOPE)
    endif()
  endforeach()
  set(CORRAL_OUTPUT_DIR "${out}" PARENT_SCOPE)
  set(CORRAL_SCOPE_DIR "${scope}" PARENT_SCOPE)
  set(CORRAL_SPEC_FILE "${spec_file}" PARENT_SCOPE)
  set(CORRAL_LAUNCHER ${use_launcher} PARENT_SCOPE)

  _corral_set(SETUP_DONE ON)
  _corral_set(LAUNCHER ${launcher})
  _corral_set(LAUNCHER_FOR_TARGETS ${launcher_for_targets})
  _corral_set(USE_LAUNCHER ${use_launcher})
  _corral_set(FIXTURE ${fixture})
  _corral_set(GRACE ${arg_GRACE})
  _corral_set(MARGIN ${arg_TIMEOUT_MARGIN})
  _corral_set(MULTIPLIER ${CORRAL_PLAN_TIMEOUT_MULTIPLIER})
  _corral_set(PLAN_TIMEOUT ${CORRAL_PLAN_TEST_TIMEOUT})
  _corral_set(PLAN_MEM_MIB "${CORRAL_PLAN_MEM_MIB}")
  _corral_set(PLAN_GPU_COUNT "${CORRAL_PLAN_GPU_COUNT}")
  _corral_set(SCOPE "${scope}")
  _corral_set(SPEC_AT_TEST_TIME ${spec_at_test_time})

  set(how "spec from configure time (${spec_file})")
  if(spec_at_test_time)
    set(how "spec generated at test time by the corral.spec fixture")
  endif()
  message(STATUS "Corral: ${how}; launcher ${use_launcher}; scope ${scope}")
endfunction()

# ---------------------------------------------------------------- defaults

# Project-wide defaults for corral_add_test / corral_test_properties. They are
# ordinary variables (CORRAL_DEFAULT_<OPTION>), so they hold for this directory
# and its subdirectories, like any CMake variable.
function(corral_test_defaults)
  set(context "corral_test_defaults")
  cmake_parse_arguments(PARSE_ARGV 0 arg "HEAVY_IO;SCRATCH" "MEMORY;CPUS;TIMEOUT;GPUS"
                        "LOCKS;LABELS")
  if(arg_UNPARSED_ARGUMENTS)
    _corral_fail("${context}" "unknown argument(s) \"${arg_UNPARSED_ARGUMENTS}\"; expected "
                 "MEMORY, CPUS, TIMEOUT, GPUS, HEAVY_IO, SCRATCH, LOCKS or LABELS")
  endif()
  if(arg_KEYWORDS_MISSING_VALUES)
    _corral_fail("${context}" "${arg_KEYWORDS_MISSING_VALUES} needs a value")
  endif()
  if(DEFINED arg_MEMORY)
    _corral_parse_size(_unused "${arg_MEMORY}" "${context}" MEMORY)
  endif()
  foreach(kw CPUS TIMEOUT)
    if(DEFINED arg_${kw})
      _corral_check_count("${arg_${kw}}" 1 "${context}" ${kw})
    endif()
  endforeach()
  if(DEFINED arg_GPUS)
    _corral_check_count("${arg_GPUS}" 0 "${context}" GPUS)
  endif()
  _corral_check_names("${arg_LOCKS}" "${context}" LOCKS)
  foreach(kw MEMORY CPUS TIMEOUT GPUS LOCKS LABELS)
    if(DEFINED arg_${kw})
      set(CORRAL_DEFAULT_${kw} "${arg_${kw}}" PARENT_SCOPE)
    endif()
  endforeach()
  foreach(kw HEAVY_IO SCRATCH)
    if(arg_${kw})
      set(CORRAL_DEFAULT_${kw} ON PARENT_SCOPE)
    endif()
  endforeach()
endfunction()

# ---------------------------------------------------------------- properties

# The keywords are spelled out in each function (not in variables): variables
# set here would be invisible where find_package() ran in another scope.

# Validates the parsed options (prefix arg_) in the caller and computes, in the
# caller's scope: _c_groups (RESOURCE_GROUPS), _c_processors, _c_locks, _c_labels,
# _c_timeout (the launcher's timeout), _c_scratch, _c_env.
macro(_corral_resolve context)
  if(arg_UNPARSED_ARGUMENTS)
    _corral_fail("${context}" "unknown argument(s) \"${arg_UNPARSED_ARGUMENTS}\"; expected "
                 "MEMORY, CPUS, HEAVY_IO, GPUS, LOCKS, TIMEOUT, SCRATCH, LABELS, "
                 "WORKING_DIRECTORY or ENVIRONMENT")
  endif()
  if(arg_KEYWORDS_MISSING_VALUES)
    _corral_fail("${context}" "${arg_KEYWORDS_MISSING_VALUES} needs a value")
  endif()
  foreach(_c_kw MEMORY CPUS GPUS TIMEOUT LOCKS LABELS)
    if(NOT DEFINED arg_${_c_kw} AND DEFINED CORRAL_DEFAULT_${_c_kw})
      set(arg_${_c_kw} "${CORRAL_DEFAULT_${_c_kw}}")
    endif()
  endforeach()
  foreach(_c_kw HEAVY_IO SCRATCH)
    if(CORRAL_DEFAULT_${_c_kw})
      set(arg_${_c_kw} ON)
    endif()
  endforeach()

  set(_c_group "")
  if(DEFINED arg_MEMORY)
    _corral_parse_size(_c_mib "${arg_MEMORY}" "${context}" MEMORY)
    if(_c_mib GREATER 0)
      list(APPEND _c_group "mem_mib:${_c_mib}")
      _corral_get(PLAN_MEM_MIB _c_budget)
      if(NOT _c_budget STREQUAL "" AND _c_mib GREATER _c_budget)
        message(WARNING "${context}: MEMORY ${arg_MEMORY} (${_c_mib} MiB) is more than this "
                        "host's test memory budget (${_c_budget} MiB); ctest will not run it")
      endif()
    endif()
  endif()
  if(arg_HEAVY_IO)
    list(APPEND _c_group "heavy_io:1")
  endif()
  if(DEFINED arg_GPUS)
    _corral_check_count("${arg_GPUS}" 0 "${context}" GPUS)
    if(arg_GPUS GREATER 0)
      _corral_get(PLAN_GPU_COUNT _c_gpus)
      if(NOT _c_gpus STREQUAL "" AND arg_GPUS GREATER _c_gpus)
        message(WARNING "${context}: GPUS ${arg_GPUS} but the plan has ${_c_gpus} GPU(s); "
                        "ctest will not run it")
      endif()
      foreach(_c_i RANGE 1 ${arg_GPUS})
        list(APPEND _c_group "gpus:1")
      endforeach()
    endif()
  endif()
  # One resource group holding every requirement: corral run reads group 0.
  string(REPLACE ";" "," _c_groups "${_c_group}")

  set(_c_processors "")
  if(DEFINED arg_CPUS)
    _corral_check_count("${arg_CPUS}" 1 "${context}" CPUS)
    set(_c_processors ${arg_CPUS})
  endif()
  _corral_check_names("${arg_LOCKS}" "${context}" LOCKS)
  set(_c_locks "${arg_LOCKS}")
  set(_c_labels "${arg_LABELS}")
  set(_c_env "${arg_ENVIRONMENT}")
  foreach(_c_e IN LISTS _c_env)
    if(NOT _c_e MATCHES "^[A-Za-z_][A-Za-z0-9_]*=")
      _corral_fail("${context}" "ENVIRONMENT entry \"${_c_e}\" must look like NAME=value")
    endif()
  endforeach()

  _corral_get(MULTIPLIER _c_multiplier)
  if(DEFINED arg_TIMEOUT)
    _corral_check_count("${arg_TIMEOUT}" 1 "${context}" TIMEOUT)
    _corral_scale(_c_timeout ${arg_TIMEOUT} "${_c_multiplier}")
  else()
    _corral_get(PLAN_TIMEOUT _c_timeout)  # already scaled by the plan
  endif()
  set(_c_scratch "${arg_SCRATCH}")
endmacro()

# Appends the properties every Corral test gets to the list named by out_props.
# launched: the test runs under corral run, so CTest's TIMEOUT must leave the
# launcher room to fire first (launcher timeout + grace + margin).
macro(_corral_properties out_props launched)
  _corral_get(FIXTURE _c_fixture)
  _corral_get(GRACE _c_grace)
  _corral_get(MARGIN _c_margin)
  if(NOT _c_groups STREQUAL "")
    list(APPEND ${out_props} RESOURCE_GROUPS "${_c_groups}")
  endif()
  if(NOT _c_processors STREQUAL "")
    list(APPEND ${out_props} PROCESSORS ${_c_processors})
  endif()
  if(${launched})
    math(EXPR _c_ctest_timeout "${_c_timeout} + ${_c_grace} + ${_c_margin}")
    list(APPEND ${out_props} TIMEOUT ${_c_ctest_timeout})
    if(NOT CMAKE_VERSION VERSION_LESS 3.27)
      # Should CTest's own timeout ever fire, the launcher gets SIGTERM, not
      # SIGKILL, and has its grace period to take the whole tree down.
      math(EXPR _c_signal_grace "${_c_grace} + 5")
      if(_c_signal_grace GREATER 60)
        set(_c_signal_grace 60)
      endif()
      list(APPEND ${out_props} TIMEOUT_SIGNAL_NAME SIGTERM TIMEOUT_SIGNAL_GRACE_PERIOD
           ${_c_signal_grace})
    endif()
  else()
    list(APPEND ${out_props} TIMEOUT ${_c_timeout})
  endif()
endmacro()

# Joins a list into one list-valued argument for set_tests_properties(PROPERTIES).
function(_corral_escape_list out)
  string(REPLACE ";" "\\;" escaped "${ARGN}")
  set(${out} "${escaped}" PARENT_SCOPE)
endfunction()

# ---------------------------------------------------------------- corral_add_test

function(corral_add_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "HEAVY_IO;SCRATCH;LAUNCHED"
                        "NAME;MEMORY;CPUS;GPUS;TIMEOUT;WORKING_DIRECTORY"
                        "COMMAND;LOCKS;LABELS;ENVIRONMENT")
  if(NOT DEFINED arg_NAME OR arg_NAME STREQUAL "")
    _corral_fail("corral_add_test" "NAME is required (corral_add_test(NAME <name> COMMAND ...))")
  endif()
  set(context "corral_add_test(${arg_NAME})")
  if(arg_LAUNCHED)
    _corral_fail("${context}" "LAUNCHED belongs to corral_test_properties only")
  endif()
  if(NOT arg_COMMAND)
    _corral_fail("${context}" "COMMAND is required")
  endif()
  # Arguments first: a bad call is reported as such even before any setup.
  _corral_resolve("${context}")
  _corral_get(SETUP_DONE done)
  if(NOT done)
    _corral_fail("${context}" "call corral_setup() first, once, in the top-level "
                 "CMakeLists.txt")
  endif()

  # The command: a target name in first place becomes its file, as add_test does.
  list(GET arg_COMMAND 0 program)
  list(REMOVE_AT arg_COMMAND 0)
  if(TARGET ${program})
    set(program "$<TARGET_FILE:${program}>")
  endif()

  _corral_get(USE_LAUNCHER use_launcher)
  _corral_get(LAUNCHER launcher)
  set(command "")
  if(use_launcher)
    set(command ${launcher})
    foreach(lock IN LISTS _c_locks)
      list(APPEND command --lock "${lock}")
    endforeach()
    list(APPEND command --name "${arg_NAME}" --timeout ${_c_timeout} --)
  elseif(_c_scratch)
    # No launcher: a per-test TMPDIR under the scope, made now.
    _corral_get(SCOPE scope)
    string(MAKE_C_IDENTIFIER "${arg_NAME}" dir_name)
    file(MAKE_DIRECTORY "${scope}/${dir_name}")
    list(APPEND _c_env "TMPDIR=${scope}/${dir_name}")
  endif()
  list(APPEND command "${program}" ${arg_COMMAND})

  if(DEFINED arg_WORKING_DIRECTORY)
    add_test(NAME "${arg_NAME}" COMMAND ${command} WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}")
  else()
    add_test(NAME "${arg_NAME}" COMMAND ${command})
  endif()

  set(props "")
  _corral_properties(props use_launcher)
  set_tests_properties("${arg_NAME}" PROPERTIES ${props})
  # List-valued properties one by one, so their semicolons survive.
  _corral_get(FIXTURE fixture)
  set_property(TEST "${arg_NAME}" APPEND PROPERTY FIXTURES_REQUIRED ${fixture})
  if(_c_locks)
    set_property(TEST "${arg_NAME}" APPEND PROPERTY RESOURCE_LOCK ${_c_locks})
  endif()
  if(_c_labels)
    set_property(TEST "${arg_NAME}" APPEND PROPERTY LABELS ${_c_labels})
  endif()
  if(_c_env)
    set_property(TEST "${arg_NAME}" APPEND PROPERTY ENVIRONMENT ${_c_env})
  endif()
endfunction()

# ---------------------------------------------------------------- corral_test_properties

# The same properties as a flat NAME VALUE list for tests made elsewhere:
#   corral_test_properties(props MEMORY 1G LOCKS cache)
#   gtest_discover_tests(t PROPERTIES ${props})   or   set_tests_properties(t PROPERTIES ${props})
# Such tests are not wrapped in the launcher (their command is not ours), unless
# LAUNCHED says the target runs under corral_test_launcher() (CMake >= 3.29).
function(corral_test_properties out)
  cmake_parse_arguments(PARSE_ARGV 1 arg "HEAVY_IO;SCRATCH;LAUNCHED"
                        "NAME;MEMORY;CPUS;GPUS;TIMEOUT;WORKING_DIRECTORY"
                        "COMMAND;LOCKS;LABELS;ENVIRONMENT")
  set(context "corral_test_properties(${out})")
  if(DEFINED arg_NAME OR DEFINED arg_COMMAND OR DEFINED arg_WORKING_DIRECTORY)
    _corral_fail("${context}" "NAME, COMMAND and WORKING_DIRECTORY belong to the test; "
                 "pass only the corral options (MEMORY, CPUS, HEAVY_IO, GPUS, LOCKS, "
                 "TIMEOUT, SCRATCH, LABELS, ENVIRONMENT, LAUNCHED)")
  endif()
  _corral_resolve("${context}")
  _corral_get(SETUP_DONE done)
  if(NOT done)
    _corral_fail("${context}" "call corral_setup() first")
  endif()
  _corral_get(USE_LAUNCHER use_launcher)
  set(launched OFF)
  if(arg_LAUNCHED AND use_launcher AND NOT CMAKE_VERSION VERSION_LESS 3.29)
    set(launched ON)
  endif()
  set(props "")
  _corral_properties(props launched)
  _corral_get(FIXTURE fixture)
  list(APPEND props FIXTURES_REQUIRED ${fixture})
  foreach(pair "RESOURCE_LOCK;_c_locks" "LABELS;_c_labels" "ENVIRONMENT;_c_env")
    list(GET pair 0 prop)
    list(GET pair 1 var)
    if(NOT "${${var}}" STREQUAL "")
      _corral_escape_list(value ${${var}})
      list(APPEND props ${prop} "${value}")
    endif()
  endforeach()
  set(${out} "${props}" PARENT_SCOPE)
endfunction()

# ---------------------------------------------------------------- corral_test_launcher

# CMake >= 3.29: every test that runs <target> (add_test(COMMAND <target>),
# gtest_discover_tests(<target>)) runs under corral run, through the target's
# TEST_LAUNCHER property. Older CMake: a status message, nothing else.
function(corral_test_launcher target)
  set(context "corral_test_launcher(${target})")
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TIMEOUT" "LOCKS")
  if(arg_UNPARSED_ARGUMENTS)
    _corral_fail("${context}" "unknown argument(s) \"${arg_UNPARSED_ARGUMENTS}\"; expected "
                 "TIMEOUT or LOCKS")
  endif()
  if(NOT TARGET ${target})
    _corral_fail("${context}" "\"${target}\" is not a target")
  endif()
  _corral_get(SETUP_DONE done)
  if(NOT done)
    _corral_fail("${context}" "call corral_setup() first")
  endif()
  _corral_get(USE_LAUNCHER use_launcher)
  if(CMAKE_VERSION VERSION_LESS 3.29 OR NOT use_launcher)
    message(STATUS "Corral: tests of ${target} run without the launcher (needs CMake 3.29 "
                   "TEST_LAUNCHER and corral run; this is CMake ${CMAKE_VERSION})")
    return()
  endif()
  _corral_get(MULTIPLIER multiplier)
  if(DEFINED arg_TIMEOUT)
    _corral_check_count("${arg_TIMEOUT}" 1 "${context}" TIMEOUT)
    _corral_scale(timeout ${arg_TIMEOUT} "${multiplier}")
  elseif(DEFINED CORRAL_DEFAULT_TIMEOUT)
    _corral_scale(timeout ${CORRAL_DEFAULT_TIMEOUT} "${multiplier}")
  else()
    _corral_get(PLAN_TIMEOUT timeout)
  endif()
  _corral_check_names("${arg_LOCKS}" "${context}" LOCKS)
  _corral_get(LAUNCHER_FOR_TARGETS launcher)
  set(command ${launcher})
  foreach(lock IN LISTS arg_LOCKS)
    list(APPEND command --lock "${lock}")
  endforeach()
  list(APPEND command --name "${target}" --timeout ${timeout} --)
  set_property(TARGET ${target} PROPERTY TEST_LAUNCHER ${command})
endfunction()

set_property(GLOBAL PROPERTY CORRAL_FUNCTIONS_DIR "${CMAKE_CURRENT_LIST_DIR}")
