# Over ~400 lines on purpose: this is the one file find_package(Corral) loads
# and ctest loads again at test time (CorralCoverage.cmake); its private
# _corral_* helpers are shared by every public function below.
# Corral's CMake functions: host-bounded tests for a CMake project.
#
#   corral_setup([CONFIG file] [OUTPUT_DIR dir] [POOLS] [SPEC_AT_TEST_TIME AUTO|ON|OFF]
#                [CPUS n] [MEMORY size] [LAUNCHER AUTO|ON|OFF] [CPU_BOUND ON|OFF] [GRACE s]
#                [TIMEOUT_MARGIN s] [SCOPE_DIR dir] [RECORDS file] [LEAK fail|warn|ignore]
#                [COVER ON|OFF] [SANITIZER AUTO|NONE|name...])
#   corral_test_defaults([MEMORY size] [CPUS n] [TIMEOUT s] [HEAVY_IO] [GPUS n]
#                        [LOCKS name...] [LABELS label...] [SCRATCH])
#   corral_add_test(NAME name COMMAND cmd [args...] [MEMORY size] [CPUS n] [HEAVY_IO]
#                   [GPUS n] [LOCKS name...] [TIMEOUT s] [SCRATCH] [LABELS label...]
#                   [WORKING_DIRECTORY dir] [ENVIRONMENT VAR=value...])
#   corral_test_properties(<out-var> [LAUNCHED] <the corral_add_test options>)
#   corral_test_launcher(<target> [TIMEOUT s] [LOCKS name...])
#   corral_exclude_tests(<name>... | DIRECTORY [dir])
#
# After corral_setup() every test of the project (any function, any directory)
# runs under corral run: CorralCoverage.cmake rewrites each test when ctest reads it.
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

# Test name (or function name) every error message starts with, then the
# other arguments joined as written (one message split over several quoted
# arguments; a semicolon inside an argument is kept). A function, not a macro:
# a macro's ${ARGN} would join the parts with ";".
function(_corral_fail context)
  set(text "")
  if(ARGC GREATER 1)
    math(EXPR last "${ARGC} - 1")
    foreach(i RANGE 1 ${last})
      string(APPEND text "${ARGV${i}}")
    endforeach()
  endif()
  message(FATAL_ERROR "${context}: ${text}")
endfunction()

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

# Creates the scope directory and marks it Corral-made (<dir>/.corral-scope,
# the format of src/runtime/scope_marker.hpp), so that `corral reap` accepts
# it whatever its place. Marked only when Corral chose its name or created it
# now: a SCOPE_DIR that already existed (/tmp, $HOME, a build tree) stays
# unmarked and meets the reaper's refusal rules.
function(_corral_make_scope dir named_by_corral)
  get_filename_component(dir "${dir}" ABSOLUTE)  # as file() resolves it
  set(mark ${named_by_corral})
  if(NOT IS_DIRECTORY "${dir}")
    set(mark ON)
  endif()
  file(MAKE_DIRECTORY "${dir}")
  if(mark AND NOT EXISTS "${dir}/.corral-scope")
    file(WRITE "${dir}/.corral-scope" "corral-scope 1\n${dir}\n")
  endif()
endfunction()

# One CMake quoted argument whose value is exactly `value`: semicolons, empty
# strings, quotes, backslashes, `$` and generator expressions all survive
# (cmake-language(7), "Quoted Argument": only \\, \" and \$ need escaping here).
function(_corral_quote out value)
  if(value MATCHES "^[A-Za-z0-9_./:=+,@%-]+$")
    set(${out} "\"${value}\"" PARENT_SCOPE)  # nothing to escape: the common case, fast
    return()
  endif()
  string(REPLACE "\\" "\\\\" v "${value}")
  string(REPLACE "\"" "\\\"" v "${v}")
  string(REPLACE "$" "\\$" v "${v}")
  set(${out} "\"${v}\"" PARENT_SCOPE)
endfunction()

# Runs the CMake code held in the variable `code_var` in the caller's scope. A command call built from
# quoted arguments reaches the command with every argument intact, which no
# list expansion can do (an unquoted list drops empty elements and splits on
# `;`). cmake_language(EVAL) where there is one (3.18+); before, the code goes
# through a file that is included at once, `file_stem` naming it (a random
# suffix keeps two processes apart). A macro: the code runs where it is called.
macro(_corral_eval code_var file_stem)
  # CORRAL_EVAL_WITH_FILES: take the 3.16/3.17 path on any CMake (tests/package).
  if(NOT CMAKE_VERSION VERSION_LESS 3.18 AND NOT CORRAL_EVAL_WITH_FILES)
    cmake_language(EVAL CODE "${${code_var}}")  # guarded: 3.18
  else()
    string(RANDOM LENGTH 12 _corral_eval_id)
    set(_corral_eval_file "${file_stem}-${_corral_eval_id}.cmake")
    file(WRITE "${_corral_eval_file}" "${${code_var}}\n")
    include("${_corral_eval_file}")
    file(REMOVE "${_corral_eval_file}")
  endif()
endmacro()

# Parses the calling function's arguments from <first> on, exactly as
# cmake_parse_arguments(PARSE_ARGV) sorts them into keywords, but keeps every
# argument untouched: each value is the variable _corral_argv_<i> (the caller
# copies ARGV<i> there and sets _corral_argc), and a keyword's values are
# recorded as index lists arg_<KEYWORD>_IDX. Sets arg_<KEYWORD> for options
# (TRUE/FALSE), single values (the value; an empty value counts as given) and
# multi values (a list, for validation only), plus arg_UNPARSED_ARGUMENTS and
# arg_KEYWORDS_MISSING_VALUES. Same result on every CMake from 3.16 (no CMP0174).
macro(_corral_parse_exact first options singles multis)
  set(_corral_kws_options "${options}")
  set(_corral_kws_singles "${singles}")
  set(_corral_kws_multis "${multis}")
  foreach(_corral_kw IN LISTS _corral_kws_options)
    set(arg_${_corral_kw} FALSE)
  endforeach()
  foreach(_corral_kw IN LISTS _corral_kws_singles _corral_kws_multis)
    unset(arg_${_corral_kw})
    unset(arg_${_corral_kw}_IDX)
  endforeach()
  set(arg_UNPARSED_ARGUMENTS "")
  set(arg_KEYWORDS_MISSING_VALUES "")
  set(_corral_current "")
  set(_corral_kind "")
  set(_corral_count 0)
  if(_corral_argc GREATER ${first})
    math(EXPR _corral_last "${_corral_argc} - 1")
    foreach(_corral_i RANGE ${first} ${_corral_last})
      set(_corral_word "${_corral_argv_${_corral_i}}")
      set(_corral_is_kw "")
      foreach(_corral_kind_try options singles multis)
        if(NOT _corral_is_kw)
          foreach(_corral_kw IN LISTS _corral_kws_${_corral_kind_try})
            if("x${_corral_word}" STREQUAL "x${_corral_kw}")
              set(_corral_is_kw ${_corral_kind_try})
            endif()
          endforeach()
        endif()
      endforeach()
      if(_corral_is_kw)
        if(_corral_current AND _corral_count EQUAL 0 AND NOT _corral_kind STREQUAL "options")
          list(APPEND arg_KEYWORDS_MISSING_VALUES ${_corral_current})
        endif()
        set(_corral_current "${_corral_word}")
        set(_corral_kind ${_corral_is_kw})
        set(_corral_count 0)
        if(_corral_kind STREQUAL "options")
          set(arg_${_corral_current} TRUE)
          set(_corral_current "")
        endif()
      elseif(_corral_kind STREQUAL "singles" AND _corral_current AND _corral_count EQUAL 0)
        set(arg_${_corral_current} "${_corral_word}")
        set(arg_${_corral_current}_IDX ${_corral_i})
        set(_corral_count 1)
      elseif(_corral_kind STREQUAL "multis" AND _corral_current)
        string(REPLACE ";" "\\;" _corral_escaped "${_corral_word}")
        if(_corral_count EQUAL 0)
          set(arg_${_corral_current} "${_corral_escaped}")
        else()
          string(APPEND arg_${_corral_current} ";${_corral_escaped}")
        endif()
        list(APPEND arg_${_corral_current}_IDX ${_corral_i})
        math(EXPR _corral_count "${_corral_count} + 1")
      else()
        string(REPLACE ";" "\\;" _corral_escaped "${_corral_word}")
        list(APPEND arg_UNPARSED_ARGUMENTS "${_corral_escaped}")
      endif()
    endforeach()
  endif()
  if(_corral_current AND _corral_count EQUAL 0 AND NOT _corral_kind STREQUAL "options")
    list(APPEND arg_KEYWORDS_MISSING_VALUES ${_corral_current})
  endif()
endmacro()

# ---------------------------------------------------------------- sanitizers

# Which sanitizers (asan, ubsan, tsan, msan, lsan, hwasan) and whether valgrind
# this build uses, from its own configuration: -fsanitize=<list> (GCC/Clang
# "Instrumentation Options") in CMAKE_<LANG>_FLAGS, CMAKE_<LANG>_FLAGS_<CONFIG>
# (CMAKE_BUILD_TYPE and CMAKE_CONFIGURATION_TYPES), CMAKE_<LANG>_FLAGS_INIT, the
# linker flags, and this directory's COMPILE_OPTIONS/LINK_OPTIONS
# (add_compile_options) so far; valgrind from MEMORYCHECK_COMMAND (CTest's
# memcheck) or CMAKE_CROSSCOMPILING_EMULATOR / CMAKE_TEST_LAUNCHER. Presets and
# toolchain files end up in these variables. out_why: where each was found.
function(_corral_detect_sanitizers out_names out_why)
  set(sources "")
  get_property(langs GLOBAL PROPERTY ENABLED_LANGUAGES)
  set(configs ${CMAKE_CONFIGURATION_TYPES})
  if(CMAKE_BUILD_TYPE)
    list(APPEND configs ${CMAKE_BUILD_TYPE})
  endif()
  foreach(lang IN LISTS langs)
    if(lang STREQUAL "NONE")
      continue()
    endif()
    list(APPEND sources CMAKE_${lang}_FLAGS CMAKE_${lang}_FLAGS_INIT)
    foreach(config IN LISTS configs)
      string(TOUPPER "${config}" config)
      list(APPEND sources CMAKE_${lang}_FLAGS_${config})
    endforeach()
  endforeach()
  foreach(kind EXE SHARED MODULE)
    list(APPEND sources CMAKE_${kind}_LINKER_FLAGS)
  endforeach()
  get_property(compile_options DIRECTORY PROPERTY COMPILE_OPTIONS)
  get_property(link_options DIRECTORY PROPERTY LINK_OPTIONS)
  set(names "")
  set(why "")
  foreach(source IN LISTS sources ITEMS compile_options_var)
    if(source STREQUAL "compile_options_var")
      set(text "${compile_options};${link_options}")
      set(source "add_compile_options/add_link_options")
    else()
      set(text "${${source}}")
    endif()
    string(REGEX MATCHALL "-fsanitize=[A-Za-z0-9_,-]+" found "${text}")
    foreach(flag IN LISTS found)
      string(REPLACE "-fsanitize=" "" list "${flag}")
      string(REPLACE "," ";" list "${list}")
      foreach(check IN LISTS list)
        set(name "")
        if(check STREQUAL "address" OR check STREQUAL "kernel-address")
          set(name asan)
        elseif(check STREQUAL "hwaddress" OR check STREQUAL "kernel-hwaddress")
          set(name hwasan)
        elseif(check STREQUAL "thread")
          set(name tsan)
        elseif(check STREQUAL "memory")
          set(name msan)
        elseif(check STREQUAL "leak")
          set(name lsan)
        elseif(check MATCHES "^(undefined|shift|shift-exponent|shift-base|integer-divide-by-zero|unreachable|vla-bound|null|return|signed-integer-overflow|bounds|bounds-strict|alignment|object-size|float-divide-by-zero|float-cast-overflow|nonnull-attribute|returns-nonnull-attribute|bool|enum|vptr|pointer-overflow|builtin|integer|implicit-conversion|nullability|function)$")
          set(name ubsan)
        endif()
        if(name)
          list(FIND names ${name} at)
          if(at EQUAL -1)
            list(APPEND names ${name})
            list(APPEND why "${flag} in ${source}")
          endif()
        endif()
      endforeach()
    endforeach()
  endforeach()
  foreach(var MEMORYCHECK_COMMAND CMAKE_CROSSCOMPILING_EMULATOR CMAKE_TEST_LAUNCHER)
    if("${${var}}" MATCHES "valgrind")
      list(FIND names valgrind at)
      if(at EQUAL -1)
        list(APPEND names valgrind)
        list(APPEND why "${var} ${${var}}")
      endif()
    endif()
  endforeach()
  if(why STREQUAL "")
    string(REPLACE ";" ", " why "${sources}")
    string(CONCAT why "no -fsanitize= in ${why}, add_compile_options or add_link_options; "
           "no valgrind in MEMORYCHECK_COMMAND, CMAKE_CROSSCOMPILING_EMULATOR or "
           "CMAKE_TEST_LAUNCHER")
  else()
    string(REPLACE ";" "; " why "${why}")
  endif()
  set(${out_names} "${names}" PARENT_SCOPE)
  set(${out_why} "${why}" PARENT_SCOPE)
endfunction()

# ---------------------------------------------------------------- coverage (configure side)
#
# Every test of the project, however it was made, is covered at ctest time:
# <OUTPUT_DIR>/coverage.cmake, first in the top directory's TEST_INCLUDE_FILES,
# replaces ctest's add_test and set_tests_properties (CorralCoverage.cmake).
# This side writes what that needs: the launcher, and <OUTPUT_DIR>/coverage-data.cmake
# with the tests corral_add_test made, the exclusions, and each directory's
# properties (computed by _corral_resolve/_corral_properties from that
# directory's corral_test_defaults, like corral_add_test's).

# A CMake bracket argument holding exactly `value`.
function(_corral_bracket out value)
  set(eq "")
  while(TRUE)
    string(LENGTH "${value}" length)
    string(FIND "${value}]${eq}]" "]${eq}]" at)
    if(at EQUAL length)
      break()
    endif()
    string(APPEND eq "=")
  endwhile()
  set(${out} "[${eq}[\n${value}]${eq}]" PARENT_SCOPE)
endfunction()

# Appends one call, `command` with the exact arguments ARGN... (as bracket
# arguments; list-valued ones given as one argument each), to coverage-data.cmake.
function(_corral_cover_append command)
  _corral_get(COVER cover)
  _corral_get(OUTPUT_DIR out)
  if(NOT cover OR out STREQUAL "")
    return()
  endif()
  set(line "${command}(")
  set(i 1)
  while(i LESS ARGC)
    _corral_bracket(b "${ARGV${i}}")
    string(APPEND line " ${b}")
    math(EXPR i "${i} + 1")
  endwhile()
  file(APPEND "${out}/coverage-data.cmake" "${line})\n")
endfunction()

function(_corral_cover_note_made name)
  _corral_cover_append(_corral_cover_made "${name}")
endfunction()

# The properties a covered test in this directory gets (this directory's
# corral_test_defaults), through the same code as corral_add_test.
function(_corral_cover_directory)
  _corral_get(COVER cover)
  if(NOT cover)
    return()
  endif()
  set(context "corral coverage of ${CMAKE_CURRENT_SOURCE_DIR}")
  set(arg_UNPARSED_ARGUMENTS "")
  set(arg_KEYWORDS_MISSING_VALUES "")
  foreach(kw MEMORY CPUS GPUS TIMEOUT LOCKS LABELS ENVIRONMENT HEAVY_IO SCRATCH)
    unset(arg_${kw})
  endforeach()
  _corral_resolve("${context}")
  _corral_get(USE_LAUNCHER use_launcher)
  set(props "")
  _corral_properties(props use_launcher)
  _corral_get(FIXTURE fixture)
  set(pairs "")
  foreach(pair "RESOURCE_LOCK;_c_locks" "LABELS;_c_labels" "ENVIRONMENT;_c_env")
    list(GET pair 0 prop)
    list(GET pair 1 var)
    if(NOT "${${var}}" STREQUAL "")
      list(APPEND pairs ${prop} "${${var}}")
    endif()
  endforeach()
  # props: NAME VALUE pairs of single values; the list-valued ones one argument each.
  set(locks_arg "")
  foreach(lock IN LISTS _c_locks)
    list(APPEND locks_arg --lock "${lock}")
  endforeach()
  set(scratch OFF)
  if(_c_scratch)
    set(scratch ON)
  endif()
  _corral_cover_append(_corral_cover_dir "${CMAKE_CURRENT_BINARY_DIR}" "${_c_timeout}"
                       "${scratch}" "${locks_arg}" ${props} FIXTURES_REQUIRED "${fixture}"
                       RESOURCE_LOCK "${_c_locks}" LABELS "${_c_labels}"
                       ENVIRONMENT "${_c_env}")
endfunction()

# corral_exclude_tests(<name>...) / corral_exclude_tests(DIRECTORY [<dir>])
# Leaves tests as they are (no launcher, no properties): the named tests, or
# every test of a directory (default: this one) and of the directories below
# its build directory. Any directory, before or after the tests are made.
function(corral_exclude_tests)
  set(context "corral_exclude_tests")
  _corral_get(SETUP_DONE done)
  if(NOT done)
    _corral_fail("${context}" "call corral_setup() first")
  endif()
  if(ARGC EQUAL 0)
    _corral_fail("${context}" "expected test names or DIRECTORY [dir]")
  endif()
  if(ARGV0 STREQUAL "DIRECTORY")
    set(dir "${CMAKE_CURRENT_BINARY_DIR}")
    if(ARGC EQUAL 2)
      get_filename_component(source "${ARGV1}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
      get_property(dir DIRECTORY "${source}" PROPERTY BINARY_DIR)
    elseif(ARGC GREATER 2)
      _corral_fail("${context}" "DIRECTORY takes one directory")
    endif()
    _corral_cover_append(_corral_cover_exclude_dir "${dir}")
  else()
    set(i 0)
    while(i LESS ARGC)
      _corral_cover_append(_corral_cover_exclude_test "${ARGV${i}}")
      math(EXPR i "${i} + 1")
    endwhile()
  endif()
endfunction()

# Writes <out>/coverage.cmake (what ctest includes first) and starts
# <out>/coverage-data.cmake.
function(_corral_cover_setup out corral_genex scope fixture)
  _corral_get(LAUNCHER launcher)
  _corral_get(USE_LAUNCHER use_launcher)
  _corral_get(GRACE grace)
  _corral_get(MARGIN margin)
  _corral_get(MULTIPLIER multiplier)
  _corral_get(PROFILE profile)
  _corral_get(PROFILE_MARGIN profile_margin)
  _corral_get(ENFORCE_MEMORY enforce)
  if(NOT enforce)
    set(enforce OFF)
  endif()
  _corral_get(PLAN_CPU_SLOTS cpu_slots)
  _corral_get(PLAN_MEM_MIB mem_budget)
  get_property(functions_dir GLOBAL PROPERTY CORRAL_FUNCTIONS_DIR)
  file(WRITE "${out}/coverage-data.cmake" "# Written by corral_setup(); read by coverage.cmake.\n")
  file(REMOVE_RECURSE "${out}/coverage-targets")
  set(words "")
  foreach(word IN LISTS launcher)
    _corral_bracket(b "${word}")
    string(APPEND words " ${b}")
  endforeach()
  set(content "# Generated by corral_setup(): ctest includes this first (TEST_INCLUDE_FILES)
# and every test it reads is then covered (CorralCoverage.cmake).
set(_corral_cov_program [==[${corral_genex}]==])
set(_corral_cov_launcher${words})
set(_corral_cov_use_launcher ${use_launcher})
set(_corral_cov_top [==[${CMAKE_BINARY_DIR}]==])
set(_corral_cov_scope [==[${scope}]==])
set(_corral_cov_fixture [==[${fixture}]==])
set(_corral_cov_grace ${grace})
set(_corral_cov_margin ${margin})
set(_corral_cov_multiplier ${multiplier})
set(_corral_cov_out [==[${out}]==])
set(_corral_cov_profile [==[${profile}]==])
set(_corral_cov_profile_margin [==[${profile_margin}]==])
set(_corral_cov_enforce ${enforce})
set(_corral_cov_cpu_slots [==[${cpu_slots}]==])
set(_corral_cov_mem_budget [==[${mem_budget}]==])
set(CORRAL_EVAL_WITH_FILES ${CORRAL_EVAL_WITH_FILES})
include([==[${functions_dir}/CorralFunctions.cmake]==])
include([==[${functions_dir}/CorralCoverage.cmake]==])
")
  file(GENERATE OUTPUT "${out}/coverage.cmake" CONTENT "${content}")
  # First, so tests added by other include files (gtest_discover_tests) are covered too.
  get_property(includes DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY TEST_INCLUDE_FILES)
  set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY TEST_INCLUDE_FILES
                                                "${out}/coverage.cmake" ${includes})
  _corral_cover_directory()
endfunction()

# PROFILE and ENFORCE_MEMORY at configure time: check the profile (corral reads
# it: the JSON mode of string() needs CMake 3.19), say how many tests it measured, and check
# once whether this host can enforce per-test memory limits. The profile itself
# is applied when ctest reads the tests (CorralCoverage.cmake), where every test
# (corral_add_test, add_test, gtest_discover_tests) is seen.
function(_corral_profile_setup context profile margin enforce cover use_launcher imported
         corral_path scope)
  if(NOT profile STREQUAL "")
    set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
                                                            "${profile}")
    set(margin_words "")
    set(margin_text "20 % (the default)")
    if(NOT margin STREQUAL "")
      set(margin_words --margin "${margin}")
      string(REPLACE "%" "" margin_text "${margin}")
      set(margin_text "${margin_text} %")
    endif()
    if(NOT cover)
      message(WARNING "${context}: PROFILE ${profile} is not applied: it is applied where ctest "
                      "reads every test, which needs COVER ON")
    elseif(imported)
      _corral_get(OUTPUT_DIR out)
      execute_process(
        COMMAND "${corral_path}" profile --merge "${profile}" --cmake "${out}/profile-data.cmake"
                ${margin_words}
        RESULT_VARIABLE rc OUTPUT_VARIABLE pout ERROR_VARIABLE perr)
      if(NOT rc EQUAL 0)
        _corral_fail("${context}" "PROFILE ${profile}: ${perr}${pout}")
      endif()
      file(STRINGS "${out}/profile-data.cmake" needs REGEX "^_corral_profile_need\\(")
      list(LENGTH needs count)
      message(STATUS "Corral: profile ${profile}: measured needs for ${count} tests (mem_mib = "
                     "peak + ${margin_text}, COST, PROCESSORS), applied when ctest reads the "
                     "tests to each that declares none; the tests that got them: "
                     "${out}/profile-applied.txt")
    else()
      message(STATUS "Corral: profile ${profile}: applied when ctest reads the tests (corral is "
                     "built by this project); the tests that got measured needs: "
                     "<OUTPUT_DIR>/profile-applied.txt")
    endif()
  else()
    message(STATUS "Corral: no profile (no ${CMAKE_SOURCE_DIR}/corral-profile.json): tests "
                   "that declare no MEMORY take no share of the memory budget")
  endif()

  if(enforce)
    if(NOT use_launcher)
      message(WARNING "${context}: ENFORCE_MEMORY needs the launcher (corral run); memory "
                      "limits are NOT enforced")
    elseif(imported)
      # One real try: a 16 MiB limit on a test's own cgroup.
      execute_process(
        COMMAND "${corral_path}" run --json --scratch-root "${scope}" --memory-limit 16M
                --name corral.enforce-check -- "${CMAKE_COMMAND}" -E true
        RESULT_VARIABLE rc OUTPUT_VARIABLE rout ERROR_VARIABLE rerr)
      if(rc EQUAL 0 AND NOT rerr MATCHES "NOT enforced"
         AND NOT rout MATCHES "\"memory_limit_enforced\": *false")
        message(STATUS "Corral: ENFORCE_MEMORY: each test's memory grant (declared, or measured "
                       "+ margin) is a hard limit on its own cgroup")
      else()
        string(REGEX REPLACE "\n+$" "" rerr "${rerr}")
        message(WARNING "${context}: ENFORCE_MEMORY: this host cannot enforce per-test memory "
                        "limits; tests run with their grants unenforced. corral run said:\n"
                        "${rerr}")
      endif()
    endif()
  endif()
endfunction()

# ---------------------------------------------------------------- corral_setup

function(corral_setup)
  set(context "corral_setup")
  cmake_parse_arguments(
    PARSE_ARGV 0 arg "POOLS;ENFORCE_MEMORY"
    "CONFIG;OUTPUT_DIR;SPEC_AT_TEST_TIME;CPUS;MEMORY;LAUNCHER;CPU_BOUND;GRACE;TIMEOUT_MARGIN;SCOPE_DIR;RECORDS;LEAK;COVER;PROFILE;PROFILE_MARGIN"
    "SANITIZER")
  if(arg_UNPARSED_ARGUMENTS)
    string(REPLACE ";" " " _corral_shown "${arg_UNPARSED_ARGUMENTS}")
    _corral_fail("${context}" "unknown argument(s) \"${_corral_shown}\"; expected "
                 "CONFIG, OUTPUT_DIR, POOLS, SPEC_AT_TEST_TIME, CPUS, MEMORY, LAUNCHER, "
                 "CPU_BOUND, GRACE, TIMEOUT_MARGIN, SCOPE_DIR, RECORDS, LEAK, COVER, PROFILE, "
                 "PROFILE_MARGIN, ENFORCE_MEMORY or SANITIZER")
  endif()
  if(arg_KEYWORDS_MISSING_VALUES)
    string(REPLACE ";" ", " _corral_shown "${arg_KEYWORDS_MISSING_VALUES}")
    _corral_fail("${context}" "no value after ${_corral_shown}")
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
  if(NOT DEFINED arg_COVER)
    set(arg_COVER ON)
  endif()
  string(TOUPPER "${arg_COVER}" arg_COVER)
  if(NOT arg_COVER MATCHES "^(ON|OFF)$")
    _corral_fail("${context}" "COVER \"${arg_COVER}\" must be ON or OFF")
  endif()
  # CPU_BOUND (or -DCORRAL_CPU_BOUND=OFF): every Corral test takes cpus:<PROCESSORS>.
  if(NOT DEFINED arg_CPU_BOUND)
    set(arg_CPU_BOUND ON)
    if(DEFINED CORRAL_CPU_BOUND AND NOT CORRAL_CPU_BOUND STREQUAL "")
      set(arg_CPU_BOUND "${CORRAL_CPU_BOUND}")
    endif()
  endif()
  string(TOUPPER "${arg_CPU_BOUND}" upper)
  if(NOT upper MATCHES "^(ON|OFF)$")
    _corral_fail("${context}" "CPU_BOUND \"${arg_CPU_BOUND}\" must be ON or OFF")
  endif()
  set(arg_CPU_BOUND ${upper})
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
  # PROFILE (docs/profile.md "Applying a profile"): measured needs for the tests
  # that declare none. Default: <source>/corral-profile.json when present; OFF: none.
  # -DCORRAL_PROFILE=<file|OFF>, -DCORRAL_ENFORCE_MEMORY=ON likewise.
  if(NOT DEFINED arg_PROFILE AND DEFINED CORRAL_PROFILE AND NOT CORRAL_PROFILE STREQUAL "")
    set(arg_PROFILE "${CORRAL_PROFILE}")
  endif()
  set(profile "")
  if(NOT DEFINED arg_PROFILE)
    if(EXISTS "${CMAKE_SOURCE_DIR}/corral-profile.json")
      set(profile "${CMAKE_SOURCE_DIR}/corral-profile.json")
    endif()
  elseif(NOT arg_PROFILE STREQUAL "OFF")
    get_filename_component(profile "${arg_PROFILE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${profile}")
      _corral_fail("${context}" "PROFILE file \"${profile}\" does not exist (corral profile "
                   "--records <records.jsonl> --out <file> writes one; PROFILE OFF for none)")
    endif()
  endif()
  if(NOT DEFINED arg_PROFILE_MARGIN)
    set(arg_PROFILE_MARGIN "")
  elseif(NOT arg_PROFILE_MARGIN MATCHES "^[0-9]+%?$")
    _corral_fail("${context}" "PROFILE_MARGIN \"${arg_PROFILE_MARGIN}\" must be a percentage "
                 "such as 20 or 20%")
  endif()
  if(NOT arg_ENFORCE_MEMORY AND CORRAL_ENFORCE_MEMORY)
    set(arg_ENFORCE_MEMORY ON)
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
  # A sanitized or valgrind build, from the build's own configuration.
  if(NOT DEFINED arg_SANITIZER OR arg_SANITIZER STREQUAL "AUTO")
    _corral_detect_sanitizers(sanitizers sanitizer_why)
  elseif(arg_SANITIZER STREQUAL "NONE")
    set(sanitizers "")
    set(sanitizer_why "SANITIZER NONE")
  else()
    set(sanitizers "")
    foreach(name IN LISTS arg_SANITIZER)
      string(TOLOWER "${name}" name)
      if(NOT name MATCHES "^(asan|hwasan|lsan|msan|tsan|ubsan|valgrind)$")
        _corral_fail("${context}" "SANITIZER \"${name}\" must be AUTO, NONE or one or more of "
                     "asan, hwasan, lsan, msan, tsan, ubsan, valgrind")
      endif()
      list(APPEND sanitizers ${name})
    endforeach()
    set(sanitizer_why "SANITIZER ${arg_SANITIZER}")
  endif()
  if(sanitizers)
    string(REPLACE ";" "," sanitizer_arg "${sanitizers}")
    list(APPEND options_args --sanitizer "${sanitizer_arg}")
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
      string(REPLACE ";" " " shown_args "${options_args}")
      _corral_fail("${context}" "\"${corral_path} generate --out ${out} ${shown_args}\" "
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

  # Spec at test time (CMake >= 3.18): the machine that runs ctest decides. ctest
  # includes the build tree's TEST_INCLUDE_FILES while it reads the tests, before it
  # reads the resource spec (CTEST_RESOURCE_SPEC_FILE, or --resource-spec-file, which
  # wins): the include runs corral generate there. No GENERATED_RESOURCE_SPEC_FILE:
  # ctest refuses it beside any other spec (docs/cmake.md "The resource spec").
  set(spec_at_test_time OFF)
  if(arg_SPEC_AT_TEST_TIME STREQUAL "ON")
    if(CMAKE_VERSION VERSION_LESS 3.18)
      _corral_fail("${context}" "SPEC_AT_TEST_TIME ON needs CMake 3.18 "
                   "(CTEST_RESOURCE_SPEC_FILE); this is ${CMAKE_VERSION}")
    endif()
    set(spec_at_test_time ON)
  elseif(arg_SPEC_AT_TEST_TIME STREQUAL "AUTO" AND NOT CMAKE_VERSION VERSION_LESS 3.18)
    set(spec_at_test_time ON)
  endif()

  set(fixture corral)
  if(spec_at_test_time)
    set(test_time_dir "${out}/test-time")
    set(spec_file "${test_time_dir}/resources.json")
    set(plan_json "${test_time_dir}/plan.json")
    set(gen_command "[==[${corral_genex}]==] generate --out [==[${test_time_dir}]==]")
    foreach(a IN LISTS options_args)
      string(APPEND gen_command " [==[${a}]==]")
    endforeach()
    string(REPLACE ";" " " gen_display "corral generate --out ${test_time_dir};${options_args}")
    file(GENERATE OUTPUT "${CMAKE_BINARY_DIR}/CorralTestTime.cmake" CONTENT
"# Generated by corral_setup(). ctest includes this file (TEST_INCLUDE_FILES) while it
# reads the tests, before it reads the resource spec: the spec and the plan the tests
# use are made by the machine that runs them.
execute_process(COMMAND ${gen_command}
                RESULT_VARIABLE corral_rc OUTPUT_VARIABLE corral_out ERROR_VARIABLE corral_err)
if(NOT corral_rc EQUAL 0)
  message(FATAL_ERROR [==[corral: ${gen_display}]==] \" failed (exit \${corral_rc}):\\n\${corral_out}\${corral_err}\")
endif()
# What it warns of on standard error (\"corral: warning: CORRAL_MEMROY: ...; did
# you mean CORRAL_MEMORY?\", a variable set only for ctest) is passed on as it
# is, not dropped with the report.
string(STRIP \"\${corral_err}\" corral_err)
if(NOT corral_err STREQUAL \"\")
  message(\"\${corral_err}\")
endif()
# This machine's slots and budget, for the tests read below (CorralCoverage.cmake:
# a test asking more cpus than this spec has holds all of them, as at configure
# time, instead of never running).
include([==[${test_time_dir}/plan.cmake]==])
set(_corral_cov_cpu_slots \"\${CORRAL_PLAN_RESOURCE_cpus_SLOTS}\")
set(_corral_cov_mem_budget \"\${CORRAL_PLAN_MEM_MIB}\")
")
    set_property(DIRECTORY "${CMAKE_SOURCE_DIR}" APPEND PROPERTY TEST_INCLUDE_FILES
                                                           "${CMAKE_BINARY_DIR}/CorralTestTime.cmake")
  else()
    set(spec_file "${out}/resources.json")
    set(plan_json "${out}/plan.json")
  endif()
  if(CMAKE_VERSION VERSION_LESS 3.18)
    message(STATUS "Corral: CMake ${CMAKE_VERSION} has no CTEST_RESOURCE_SPEC_FILE; run "
                   "ctest --resource-spec-file ${spec_file}")
  else()
    set(CTEST_RESOURCE_SPEC_FILE "${spec_file}" PARENT_SCOPE)
  endif()
  # For CI jobs and scripts: the one spec this build tree's tests are planned for
  # (corral ci's Test step passes it to ctest; docs/outputs.md).
  file(WRITE "${CMAKE_BINARY_DIR}/CorralResourceSpec.txt" "${spec_file}\n")

  # Scope: every test's scratch directory lives under it, and the cleanup
  # fixture reaps whatever is still running there. Short, so socket paths fit.
  set(scope_named_by_corral OFF)
  if(NOT DEFINED arg_SCOPE_DIR)
    set(scope_named_by_corral ON)
    set(scratch_base "${CORRAL_PLAN_SCRATCH_DIR}")
    if(scratch_base STREQUAL "")
      set(scratch_base "/tmp")
    endif()
    string(MD5 build_hash "${CMAKE_BINARY_DIR}")
    string(SUBSTRING "${build_hash}" 0 8 build_hash)
    set(arg_SCOPE_DIR "${scratch_base}/corral-${build_hash}")
  endif()
  set(scope "${arg_SCOPE_DIR}")
  _corral_make_scope("${scope}" ${scope_named_by_corral})
  # Internal: the scope outlives a removed build tree (it is outside it), so
  # Corral's own tests find it here to remove it (tests/support/build_scopes.hpp).
  get_filename_component(scope_abs "${scope}" ABSOLUTE)
  set(_CORRAL_SCOPE_DIR "${scope_abs}" CACHE INTERNAL "corral_setup(): the scope of this tree's tests")
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
    # Under ctest a leak fails the test by default (docs/runtime.md "What ctest shows").
    if(NOT DEFINED arg_LEAK)
      set(arg_LEAK fail)
    endif()
    list(APPEND launcher --leak ${arg_LEAK})
    if(arg_ENFORCE_MEMORY)
      # The test's mem_mib grant (declared, or measured + margin) becomes its
      # hard limit, handed over per test at ctest time (CorralCoverage.cmake).
      list(APPEND launcher --memory-limit-env CORRAL_CTEST_MEMORY_LIMIT)
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
  _corral_set(OUTPUT_DIR "${out}")
  _corral_set(COVER ${arg_COVER})
  _corral_set(CPU_BOUND ${arg_CPU_BOUND})
  _corral_set(PLAN_CPU_SLOTS "${CORRAL_PLAN_RESOURCE_cpus_SLOTS}")

  if(sanitizers)
    message(STATUS "Corral: tests run under ${sanitizer_arg} (${sanitizer_why}): timeout "
                   "multiplier x${CORRAL_PLAN_TIMEOUT_MULTIPLIER}, test timeout "
                   "${CORRAL_PLAN_TEST_TIMEOUT} s")
  else()
    message(STATUS "Corral: no sanitizer or valgrind in this build's configuration "
                   "(${sanitizer_why}): timeout multiplier x${CORRAL_PLAN_TIMEOUT_MULTIPLIER}")
  endif()

  _corral_set(PROFILE "${profile}")
  _corral_set(PROFILE_MARGIN "${arg_PROFILE_MARGIN}")
  _corral_set(ENFORCE_MEMORY ${arg_ENFORCE_MEMORY})
  if(arg_COVER)
    _corral_cover_setup("${out}" "${corral_genex}" "${scope}" "${fixture}")
  endif()
  _corral_profile_setup("${context}" "${profile}" "${arg_PROFILE_MARGIN}" "${arg_ENFORCE_MEMORY}"
                        "${arg_COVER}" "${use_launcher}" "${imported}" "${corral_path}" "${scope}")

  set(how "spec from configure time (${spec_file})")
  if(spec_at_test_time)
    set(how "spec generated when ctest starts (${spec_file})")
  endif()
  message(STATUS "Corral: ${how}; launcher ${use_launcher}; CPU bound ${arg_CPU_BOUND}; "
                 "scope ${scope}; every test covered ${arg_COVER}")
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
    string(REPLACE ";" " " _corral_shown "${arg_UNPARSED_ARGUMENTS}")
    _corral_fail("${context}" "unknown argument(s) \"${_corral_shown}\"; expected "
                 "MEMORY, CPUS, TIMEOUT, GPUS, HEAVY_IO, SCRATCH, LOCKS or LABELS")
  endif()
  if(arg_KEYWORDS_MISSING_VALUES)
    string(REPLACE ";" ", " _corral_shown "${arg_KEYWORDS_MISSING_VALUES}")
    _corral_fail("${context}" "no value after ${_corral_shown}")
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
      set(CORRAL_DEFAULT_${kw} "${arg_${kw}}")
    endif()
  endforeach()
  foreach(kw HEAVY_IO SCRATCH)
    if(arg_${kw})
      set(CORRAL_DEFAULT_${kw} ON PARENT_SCOPE)
      set(CORRAL_DEFAULT_${kw} ON)
    endif()
  endforeach()
  # Tests of this directory that Corral did not make get these defaults too.
  _corral_get(SETUP_DONE done)
  if(done)
    _corral_cover_directory()
  endif()
endfunction()

# ---------------------------------------------------------------- properties

# The keywords are spelled out in each function (not in variables): variables
# set here would be invisible where find_package() ran in another scope.

# The launcher's timeout of a test, in seconds, into `out` (a macro: it reads
# the caller's arg_TIMEOUT): TIMEOUT (checked), else corral_test_defaults'
# TIMEOUT, scaled by the plan's multiplier; else the plan's, already scaled.
macro(_corral_launch_timeout out context)
  _corral_get(MULTIPLIER _c_multiplier)
  if(DEFINED arg_TIMEOUT)
    _corral_check_count("${arg_TIMEOUT}" 1 "${context}" TIMEOUT)
    _corral_scale(${out} ${arg_TIMEOUT} "${_c_multiplier}")
  elseif(DEFINED CORRAL_DEFAULT_TIMEOUT)
    _corral_scale(${out} ${CORRAL_DEFAULT_TIMEOUT} "${_c_multiplier}")
  else()
    _corral_get(PLAN_TIMEOUT ${out})
  endif()
endmacro()

# Validates the parsed options (prefix arg_) in the caller and computes, in the
# caller's scope: _c_groups (RESOURCE_GROUPS), _c_processors, _c_locks, _c_labels,
# _c_timeout (the launcher's timeout), _c_scratch, _c_env.
macro(_corral_resolve context)
  if(arg_UNPARSED_ARGUMENTS)
    string(REPLACE ";" " " _corral_shown "${arg_UNPARSED_ARGUMENTS}")
    _corral_fail("${context}" "unknown argument(s) \"${_corral_shown}\"; expected "
                 "MEMORY, CPUS, HEAVY_IO, GPUS, LOCKS, TIMEOUT, SCRATCH, LABELS, "
                 "WORKING_DIRECTORY or ENVIRONMENT")
  endif()
  if(arg_KEYWORDS_MISSING_VALUES)
    string(REPLACE ";" ", " _corral_shown "${arg_KEYWORDS_MISSING_VALUES}")
    _corral_fail("${context}" "no value after ${_corral_shown}")
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
  # The plan's CPU bound: cpus:<PROCESSORS, 1 by default> of the spec's cpus slots
  # (the plan's test parallel level), so plain ctest -jN runs no more than the plan.
  # More than the plan has is held as all of it: the test runs alone (as PROCESSORS
  # above -j does). corral_setup(CPU_BOUND OFF) drops it.
  _corral_get(CPU_BOUND _c_cpu_bound)
  if(_c_cpu_bound)
    set(_c_cpu_need 1)
    if(DEFINED arg_CPUS)
      _corral_check_count("${arg_CPUS}" 1 "${context}" CPUS)
      set(_c_cpu_need ${arg_CPUS})
    endif()
    _corral_get(PLAN_CPU_SLOTS _c_cpu_slots)
    if(NOT _c_cpu_slots STREQUAL "" AND _c_cpu_need GREATER _c_cpu_slots)
      set(_c_cpu_need ${_c_cpu_slots})
    endif()
    list(APPEND _c_group "cpus:${_c_cpu_need}")
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

  _corral_launch_timeout(_c_timeout "${context}")
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
    _corral_visibility_properties(${out_props})
  else()
    list(APPEND ${out_props} TIMEOUT ${_c_timeout})
  endif()
endmacro()

# What the launcher found, in ctest's own result line: a test that fails
# because corral run timed it out or found it leaking shows
#   ***Failed  Error regular expression found in output. Regex=[corral run: TIMEOUT:]
# (CMake 3.16 to 4.3 print the regex that matched; docs/runtime.md). Appends
# FAIL_REGULAR_EXPRESSION to the NAME VALUE list named by out_props.
macro(_corral_visibility_properties out_props)
  _corral_escape_list(_c_fail_regex "corral run: TIMEOUT:" "corral run: LEAK-FAIL:")
  list(APPEND ${out_props} FAIL_REGULAR_EXPRESSION "${_c_fail_regex}")
endmacro()

# Joins a list into one list-valued argument for set_tests_properties(PROPERTIES).
function(_corral_escape_list out)
  string(REPLACE ";" "\\;" escaped "${ARGN}")
  set(${out} "${escaped}" PARENT_SCOPE)
endfunction()

# ---------------------------------------------------------------- corral_add_test

function(corral_add_test)
  # Every argument exactly as written (ARGV<i>, not the flattened ARGN): a
  # command argument holding ";" or nothing reaches the test as add_test would
  # hand it over.
  set(_corral_argc ${ARGC})
  if(ARGC GREATER 0)
    math(EXPR last "${ARGC} - 1")
    foreach(i RANGE 0 ${last})
      set(_corral_argv_${i} "${ARGV${i}}")
    endforeach()
  endif()
  _corral_parse_exact(0 "HEAVY_IO;SCRATCH;LAUNCHED"
                      "NAME;MEMORY;CPUS;GPUS;TIMEOUT;WORKING_DIRECTORY"
                      "COMMAND;LOCKS;LABELS;ENVIRONMENT")
  if(NOT DEFINED arg_NAME OR arg_NAME STREQUAL "")
    _corral_fail("corral_add_test" "NAME is required (corral_add_test(NAME <name> COMMAND ...))")
  endif()
  set(context "corral_add_test(${arg_NAME})")
  if(arg_LAUNCHED)
    _corral_fail("${context}" "LAUNCHED belongs to corral_test_properties only")
  endif()
  if(NOT DEFINED arg_COMMAND_IDX)
    _corral_fail("${context}" "COMMAND is required")
  endif()
  # Arguments first: a bad call is reported as such even before any setup.
  _corral_resolve("${context}")
  _corral_get(SETUP_DONE done)
  if(NOT done)
    _corral_fail("${context}" "call corral_setup() first, once, in the top-level "
                 "CMakeLists.txt")
  endif()

  # The command: an executable target in first place becomes its file, as
  # add_test(NAME ... COMMAND <target>) does.
  set(command_idx ${arg_COMMAND_IDX})
  list(GET command_idx 0 first)
  list(REMOVE_AT command_idx 0)
  set(program "${_corral_argv_${first}}")
  if(TARGET "${program}")
    get_target_property(type "${program}" TYPE)
    if(type STREQUAL "EXECUTABLE")
      set(program "$<TARGET_FILE:${program}>")
    endif()
  endif()

  _corral_get(USE_LAUNCHER use_launcher)
  _corral_get(LAUNCHER launcher)
  set(prefix "")
  if(use_launcher)
    set(prefix ${launcher})
    foreach(lock IN LISTS _c_locks)
      list(APPEND prefix --lock "${lock}")
    endforeach()
    list(APPEND prefix --name "${arg_NAME}" --timeout ${_c_timeout} --)
  elseif(_c_scratch)
    # No launcher: a per-test TMPDIR under the scope, made now.
    _corral_get(SCOPE scope)
    string(MAKE_C_IDENTIFIER "${arg_NAME}" dir_name)
    file(MAKE_DIRECTORY "${scope}/${dir_name}")
    list(APPEND _c_env "TMPDIR=${scope}/${dir_name}")
  endif()

  # add_test(NAME <name> COMMAND <prefix...> <program> <args...>), every word a
  # quoted argument of its own.
  _corral_quote(q "${arg_NAME}")
  set(code "add_test(NAME ${q} COMMAND")
  foreach(word IN LISTS prefix)
    _corral_quote(q "${word}")
    string(APPEND code " ${q}")
  endforeach()
  _corral_quote(q "${program}")
  string(APPEND code " ${q}")
  foreach(i IN LISTS command_idx)
    _corral_quote(q "${_corral_argv_${i}}")
    string(APPEND code " ${q}")
  endforeach()
  if(DEFINED arg_WORKING_DIRECTORY)
    _corral_quote(q "${arg_WORKING_DIRECTORY}")
    string(APPEND code " WORKING_DIRECTORY ${q}")
  endif()
  string(APPEND code ")")
  _corral_eval(code "${CMAKE_CURRENT_BINARY_DIR}/CMakeFiles/corral_add_test")
  _corral_cover_note_made("${arg_NAME}")

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
  _corral_get(COVER cover)
  set(launched OFF)
  if(cover AND use_launcher)
    # Covered at ctest time: the test runs under corral run on every CMake.
    set(launched ON)
  elseif(arg_LAUNCHED AND use_launcher AND NOT CMAKE_VERSION VERSION_LESS 3.29)
    set(launched ON)
  endif()
  if(_c_scratch AND NOT cover AND NOT use_launcher)
    _corral_fail("${context}" "SCRATCH needs the launcher or coverage (corral_setup(COVER ON), "
                 "the default): a property list cannot name each test's own directory")
  endif()
  set(props "")
  _corral_properties(props launched)
  if(cover)
    # Read by the ctest side (CorralCoverage.cmake): the launcher's own timeout,
    # already scaled, and the scratch request.
    list(APPEND props CORRAL_LAUNCH_TIMEOUT ${_c_timeout})
    if(_c_scratch)
      list(APPEND props CORRAL_SCRATCH ON)
    endif()
    if(_c_locks)
      _corral_escape_list(value ${_c_locks})
      list(APPEND props CORRAL_LOCKS "${value}")
    endif()
  elseif(_c_scratch AND NOT launched)
    _corral_fail("${context}" "SCRATCH: this test does not run under the launcher (LAUNCHED "
                 "needs CMake 3.29 and corral_test_launcher, or coverage)")
  endif()
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
    string(REPLACE ";" " " _corral_shown "${arg_UNPARSED_ARGUMENTS}")
    _corral_fail("${context}" "unknown argument(s) \"${_corral_shown}\"; expected "
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
  _corral_get(COVER cover)
  if(NOT cover AND (CMAKE_VERSION VERSION_LESS 3.29 OR NOT use_launcher))
    message(STATUS "Corral: tests of ${target} run without the launcher (needs CMake 3.29 "
                   "TEST_LAUNCHER and corral run; this is CMake ${CMAKE_VERSION})")
    return()
  endif()
  _corral_launch_timeout(timeout "${context}")
  _corral_check_names("${arg_LOCKS}" "${context}" LOCKS)
  _corral_get(COVER cover)
  if(cover)
    # Coverage already runs every test of the target under corral run, each
    # under its own name (TEST_LAUNCHER would also run at build time, when
    # gtest_discover_tests lists the cases, and name every case after the
    # target). Hand the target's timeout and locks to the ctest side instead.
    _corral_get(OUTPUT_DIR out)
    set(opts --timeout ${timeout})
    foreach(lock IN LISTS arg_LOCKS)
      list(APPEND opts --lock "${lock}")
    endforeach()
    string(MAKE_C_IDENTIFIER "${target}" stem)
    file(GENERATE OUTPUT "${out}/coverage-targets/${stem}.cmake"
         CONTENT "_corral_cover_target([==[$<TARGET_FILE:${target}>]==] [==[${opts}]==])\n")
    return()
  endif()
  _corral_get(LAUNCHER_FOR_TARGETS launcher)
  set(command ${launcher})
  foreach(lock IN LISTS arg_LOCKS)
    list(APPEND command --lock "${lock}")
  endforeach()
  list(APPEND command --name "${target}" --timeout ${timeout} --)
  set_property(TARGET ${target} PROPERTY TEST_LAUNCHER ${command})
endfunction()

set_property(GLOBAL PROPERTY CORRAL_FUNCTIONS_DIR "${CMAKE_CURRENT_LIST_DIR}")
