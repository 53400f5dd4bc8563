# Over ~400 lines on purpose: ctest reads one include file per build tree, and
# every replaced command (add_test, set_tests_properties, ...) shares its state.
# CorralCoverage.cmake: read by ctest, not by cmake. corral_setup() puts
# <OUTPUT_DIR>/coverage.cmake first in the top directory's TEST_INCLUDE_FILES;
# that file sets _corral_cov_* and includes this one. From then on every
# add_test/set_tests_properties that ctest reads from the CTestTestfile.cmake
# files of this build tree (every directory: ctest reads subdirectories with
# the same interpreter) and from other include files (gtest_discover_tests'
# cases) goes through the functions below:
#
#   add_test(<name> <command> <args>...)            (the form CMake writes for
#     both add_test signatures) becomes, for a covered test,
#   add_test(<name> <corral> run <launcher options> --name <name> --timeout <T>
#            --timeout-env CORRAL_CTEST_TIMEOUT --ctest-resolve [--ctest-config <C>]
#            -- <command> <args>...)
#   with the directory's properties (FIXTURES_REQUIRED corral, TIMEOUT, resource
#   groups, ...) set at once; set_tests_properties(...) that follows is merged:
#   the test's own TIMEOUT becomes the launcher's (scaled by the plan's
#   multiplier, handed over in CORRAL_CTEST_TIMEOUT) and CTest's TIMEOUT leaves
#   it grace + margin; FIXTURES_REQUIRED and ENVIRONMENT keep Corral's entries.
#
# Overriding a command keeps the original as _<command> (cmState, "if the
# command already exists, give a new name to the old command"): that is what
# the replacements call. Every argument is handed on as a quoted argument of its
# own (_corral_quote, _corral_eval), so none is split or dropped.
# Written for ctest 3.16 (the ctest that comes with the CMake that configured).

if(COMMAND _corral_cover_made)
  return()  # already read (ctest re-reads nothing, but be safe)
endif()

set(_corral_cov_ctest_config "${CTEST_CONFIGURATION_TYPE}")

# The launcher's words, quoted once (they are the same for every test).
set(_corral_cov_launcher_tail
    " \"--timeout-env\" \"CORRAL_CTEST_TIMEOUT\" \"--locks-env\" \"CORRAL_CTEST_LOCKS\" \"--ctest-resolve\"")
if(NOT _corral_cov_ctest_config STREQUAL "")
  _corral_quote(_corral_cov_q "${_corral_cov_ctest_config}")
  string(APPEND _corral_cov_launcher_tail " \"--ctest-config\" ${_corral_cov_q}")
endif()
string(APPEND _corral_cov_launcher_tail " \"--\"")
set(_corral_cov_launcher_quoted "")
foreach(_corral_cov_word IN LISTS _corral_cov_launcher)
  _corral_quote(_corral_cov_q "${_corral_cov_word}")
  string(APPEND _corral_cov_launcher_quoted " ${_corral_cov_q}")
endforeach()

# ---- data from coverage-data.cmake

function(_corral_cover_made name)
  set_property(GLOBAL PROPERTY "_CORRAL_MADE_${name}" ON)
endfunction()

function(_corral_cover_exclude_test name)
  set_property(GLOBAL PROPERTY "_CORRAL_EXCLUDED_${name}" ON)
endfunction()

function(_corral_cover_exclude_dir dir)
  set_property(GLOBAL APPEND PROPERTY _CORRAL_EXCLUDED_DIRS "${dir}")
endfunction()

# _corral_cover_dir(<build dir> <launcher timeout> <scratch> <--lock options> <NAME VALUE>...)
function(_corral_cover_dir dir timeout scratch lock_options)
  set(props "")
  set(i 4)
  while(i LESS ARGC)
    math(EXPR j "${i} + 1")
    if("${ARGV${i}}" STREQUAL "RESOURCE_GROUPS")
      # ctest appends RESOURCE_GROUPS: given only if the test sets none itself.
      set_property(GLOBAL PROPERTY "_CORRAL_DIR_GROUPS_${dir}" "${ARGV${j}}")
    elseif(NOT "${ARGV${j}}" STREQUAL "")
      _corral_quote(k "${ARGV${i}}")
      _corral_quote(v "${ARGV${j}}")
      string(APPEND props " ${k} ${v}")
    endif()
    math(EXPR i "${i} + 2")
  endwhile()
  set_property(GLOBAL PROPERTY "_CORRAL_DIR_PROPS_${dir}" "${props}")
  set_property(GLOBAL PROPERTY "_CORRAL_DIR_TIMEOUT_${dir}" "${timeout}")
  set_property(GLOBAL PROPERTY "_CORRAL_DIR_SCRATCH_${dir}" "${scratch}")
  set_property(GLOBAL PROPERTY "_CORRAL_DIR_LOCKS_${dir}" "${lock_options}")
  set_property(GLOBAL APPEND PROPERTY _CORRAL_DIRS "${dir}")
endfunction()

# _corral_cover_target(<executable> <corral run options>): corral_test_launcher().
function(_corral_cover_target file options)
  set_property(GLOBAL PROPERTY "_CORRAL_TARGET_${file}" "${options}")
endfunction()

include("${_corral_cov_out}/coverage-data.cmake" OPTIONAL)
file(GLOB _corral_cov_target_files "${_corral_cov_out}/coverage-targets/*.cmake")
foreach(_corral_cov_file IN LISTS _corral_cov_target_files)
  include("${_corral_cov_file}")
endforeach()

# ---- the profile (corral_setup(PROFILE), docs/profile.md "Applying a profile")

# _corral_profile_need(<test> <mem_mib> <median wall ms> <processors>): profile-data.cmake.
function(_corral_profile_need name mem_mib wall_ms processors)
  set_property(GLOBAL PROPERTY "_CORRAL_PROFILE_${name}" "${mem_mib};${wall_ms};${processors}")
endfunction()

set(_corral_cov_profile_on OFF)
if(NOT _corral_cov_profile STREQUAL "")
  # Made here, from the profile as it is now (corral reads the JSON: the JSON mode of string()
  # needs CMake 3.19).
  set(_corral_cov_words profile --merge "${_corral_cov_profile}" --cmake
                        "${_corral_cov_out}/profile-data.cmake")
  if(NOT _corral_cov_profile_margin STREQUAL "")
    list(APPEND _corral_cov_words --margin "${_corral_cov_profile_margin}")
  endif()
  execute_process(COMMAND "${_corral_cov_program}" ${_corral_cov_words}
                  RESULT_VARIABLE _corral_cov_rc ERROR_VARIABLE _corral_cov_err
                  OUTPUT_QUIET)
  if(_corral_cov_rc EQUAL 0)
    include("${_corral_cov_out}/profile-data.cmake")
    set(_corral_cov_profile_on ON)
    file(WRITE "${_corral_cov_out}/profile-applied.txt"
         "# Tests that got measured needs from ${_corral_cov_profile}: name mem_mib COST PROCESSORS\n")
  else()
    message(WARNING "corral: the profile ${_corral_cov_profile} is not applied: ${_corral_cov_err}")
  endif()
endif()

# Applies the profile to one test, in the caller's scope: `groups` (the test's
# final RESOURCE_GROUPS) gains mem_mib:<measured + margin, at most the plan's
# budget> in group 0 unless
# it holds mem_mib already (the test's own declaration wins); PROCESSORS (and
# the cpus slots of group 0) when the test sets none and the profile says it
# uses more than one CPU; COST (unless the test's own) = median wall s x the
# test's mem_mib. With ENFORCE_MEMORY, the mem_mib of group 0 becomes
# CORRAL_CTEST_MEMORY_LIMIT in `env` (corral run --memory-limit-env).
# Appends to `pairs` (quoted NAME VALUE) and `env` (a list).
macro(_corral_profile_apply name own_processors own_cost)
  set(_p_need "")
  if(_corral_cov_profile_on)
    get_property(_p_need GLOBAL PROPERTY "_CORRAL_PROFILE_${name}")
  endif()
  set(_p_first "${groups}")
  set(_p_rest "")
  string(FIND "${groups}" ";" _p_at)
  if(_p_at GREATER -1)
    string(SUBSTRING "${groups}" 0 ${_p_at} _p_first)
    math(EXPR _p_at "${_p_at} + 1")
    string(SUBSTRING "${groups}" ${_p_at} -1 _p_rest)
  endif()
  set(_p_mem "")
  if(_p_first MATCHES "(^|,)mem_mib:([0-9]+)")
    set(_p_mem "${CMAKE_MATCH_2}")
  endif()
  if(NOT "${_p_need}" STREQUAL "")
    list(GET _p_need 0 _p_need_mem)
    list(GET _p_need 1 _p_wall_ms)
    list(GET _p_need 2 _p_procs)
    set(_p_applied "")
    if(_p_mem STREQUAL "")
      set(_p_mem ${_p_need_mem})
      if(NOT _corral_cov_mem_budget STREQUAL "" AND _p_mem GREATER _corral_cov_mem_budget)
        # More than the whole budget: held as all of it (the test runs alone),
        # not a grant ctest could never satisfy.
        set(_p_mem ${_corral_cov_mem_budget})
      endif()
      if(_p_first STREQUAL "")
        set(_p_first "mem_mib:${_p_mem}")
      else()
        string(APPEND _p_first ",mem_mib:${_p_mem}")
      endif()
      set(_p_applied "${_p_mem}")
    endif()
    set(_p_proc_out "-")
    if(NOT ${own_processors} AND _p_procs GREATER 1)
      if(NOT _corral_cov_cpu_slots STREQUAL "" AND _p_procs GREATER _corral_cov_cpu_slots)
        set(_p_procs ${_corral_cov_cpu_slots})
      endif()
      string(APPEND pairs " \"PROCESSORS\" \"${_p_procs}\"")
      string(REGEX REPLACE "(^|,)cpus:1(,|$)" "\\1cpus:${_p_procs}\\2" _p_first "${_p_first}")
      set(_p_proc_out ${_p_procs})
    endif()
    set(_p_cost_out "-")
    if(NOT ${own_cost})
      math(EXPR _p_area "${_p_wall_ms} * ${_p_mem}")
      math(EXPR _p_whole "${_p_area} / 1000")
      math(EXPR _p_frac "${_p_area} % 1000 + 1000")
      string(SUBSTRING "${_p_frac}" 1 3 _p_frac)
      string(APPEND pairs " \"COST\" \"${_p_whole}.${_p_frac}\"")
      set(_p_cost_out "${_p_whole}.${_p_frac}")
    endif()
    # Listed when any measured need was applied: a COST (measured time x its
    # own mem_mib) alone counts too.
    if(NOT _p_applied STREQUAL "" OR NOT _p_proc_out STREQUAL "-" OR NOT _p_cost_out STREQUAL "-")
      if(_p_applied STREQUAL "")
        set(_p_applied "-")
      endif()
      file(APPEND "${_corral_cov_out}/profile-applied.txt"
           "${name} ${_p_applied} ${_p_cost_out} ${_p_proc_out}\n")
    endif()
  endif()
  if(_corral_cov_enforce AND NOT _p_mem STREQUAL "")
    list(APPEND env "CORRAL_CTEST_MEMORY_LIMIT=${_p_mem}M")
  endif()
  if(_p_rest STREQUAL "")
    set(groups "${_p_first}")
  else()
    set(groups "${_p_first};${_p_rest}")
  endif()
endmacro()

# ---- helpers

# The build directory whose CTestTestfile.cmake (or include file) is being read.
# ctest reads the top one by a relative name, so CMAKE_CURRENT_LIST_DIR is empty there.
macro(_corral_cover_current_dir out)
  if(CMAKE_CURRENT_LIST_DIR)
    set(${out} "${CMAKE_CURRENT_LIST_DIR}")
  else()
    set(${out} "${_corral_cov_top}")
  endif()
endmacro()

# The covering directory entry for `dir`: itself or its nearest ancestor with
# corral_test_defaults (else the top directory's).
function(_corral_cover_dir_entry out dir)
  get_property(dirs GLOBAL PROPERTY _CORRAL_DIRS)
  set(best "${_corral_cov_top}")
  set(best_length 0)
  foreach(d IN LISTS dirs)
    string(LENGTH "${d}" length)
    string(FIND "${dir}/" "${d}/" at)
    if(at EQUAL 0 AND length GREATER best_length)
      set(best "${d}")
      set(best_length ${length})
    endif()
  endforeach()
  set(${out} "${best}" PARENT_SCOPE)
endfunction()

function(_corral_cover_excluded out name dir)
  set(${out} OFF PARENT_SCOPE)
  get_property(made GLOBAL PROPERTY "_CORRAL_MADE_${name}")
  get_property(excluded GLOBAL PROPERTY "_CORRAL_EXCLUDED_${name}")
  if(made OR excluded)
    set(${out} ON PARENT_SCOPE)
    return()
  endif()
  get_property(dirs GLOBAL PROPERTY _CORRAL_EXCLUDED_DIRS)
  foreach(d IN LISTS dirs)
    string(FIND "${dir}/" "${d}/" at)
    if(at EQUAL 0)
      set(${out} ON PARENT_SCOPE)
      return()
    endif()
  endforeach()
endfunction()

# ---- the replacements

function(add_test)
  _corral_cover_current_dir(dir)
  set(name "${ARGV0}")
  set(covered ON)
  if(ARGC LESS 2)
    set(covered OFF)
  else()
    _corral_cover_excluded(excluded "${name}" "${dir}")
    get_property(made GLOBAL PROPERTY "_CORRAL_MADE_${name}")
    if(made)
      # corral_add_test's: launched already; the profile still applies.
      set_property(GLOBAL PROPERTY "_CORRAL_PROFILED_${name}" ON)
    endif()
    # corral's own tests (corral.spec, corral.reap) and corral_add_test's.
    if(excluded OR "${ARGV1}" STREQUAL "${_corral_cov_program}")
      set(covered OFF)
    endif()
  endif()

  set(code "_add_test(")
  _corral_quote(q "${name}")
  string(APPEND code "${q}")
  if(covered)
    _corral_cover_dir_entry(entry "${dir}")
    get_property(props GLOBAL PROPERTY "_CORRAL_DIR_PROPS_${entry}")
    get_property(timeout GLOBAL PROPERTY "_CORRAL_DIR_TIMEOUT_${entry}")
    get_property(scratch GLOBAL PROPERTY "_CORRAL_DIR_SCRATCH_${entry}")
    get_property(locks GLOBAL PROPERTY "_CORRAL_DIR_LOCKS_${entry}")
    get_property(target_options GLOBAL PROPERTY "_CORRAL_TARGET_${ARGV1}")
    set_property(GLOBAL PROPERTY "_CORRAL_COVERED_${name}" ON)
    set_property(GLOBAL PROPERTY "_CORRAL_SCRATCH_${name}" "${scratch}")
    get_property(groups GLOBAL PROPERTY "_CORRAL_DIR_GROUPS_${entry}")
    set_property(GLOBAL PROPERTY "_CORRAL_GROUPS_${name}" "${groups}")
    set(env "")
    if(_corral_cov_use_launcher)
      string(APPEND code "${_corral_cov_launcher_quoted}")
      set(words --name "${name}")
      if(target_options)
        list(APPEND words ${target_options})
        list(FIND target_options --timeout at)
        if(at GREATER -1)
          math(EXPR at "${at} + 1")
          list(GET target_options ${at} timeout)
          math(EXPR ctest_timeout "${timeout} + ${_corral_cov_grace} + ${_corral_cov_margin}")
          string(APPEND props " \"TIMEOUT\" \"${ctest_timeout}\"")
        endif()
      else()
        list(APPEND words --timeout "${timeout}")
      endif()
      list(APPEND words ${locks})
      _corral_quote(q "${name}")
      string(APPEND code " \"--name\" ${q}")
      list(REMOVE_AT words 0 1)  # --name <name>, done
      foreach(word IN LISTS words)
        _corral_quote(q "${word}")
        string(APPEND code " ${q}")
      endforeach()
      string(APPEND code "${_corral_cov_launcher_tail}")
    else()
      # No launcher: the scope token (corral reap finds what the test leaves by
      # it) and, when asked, a scratch directory of its own.
      string(MAKE_C_IDENTIFIER "${name}" stem)
      list(APPEND env "CORRAL_SCOPE=${_corral_cov_scope}/${stem}")
      if(scratch)
        file(MAKE_DIRECTORY "${_corral_cov_scope}/${stem}")
        list(APPEND env "TMPDIR=${_corral_cov_scope}/${stem}")
      endif()
    endif()
    set_property(GLOBAL PROPERTY "_CORRAL_ENV_${name}" "${env}")
  endif()
  set(i 1)
  while(i LESS ARGC)
    _corral_quote(q "${ARGV${i}}")
    string(APPEND code " ${q}")
    math(EXPR i "${i} + 1")
  endwhile()
  string(APPEND code ")")
  if(covered)
    _corral_quote(q "${name}")
    string(APPEND code "\n_set_tests_properties(${q} PROPERTIES${props}")
    if(env)
      _corral_quote(q "${env}")
      string(APPEND code " ENVIRONMENT ${q}")
    endif()
    string(APPEND code ")")
  endif()
  _corral_eval(code "${_corral_cov_out}/ctest-eval")
endfunction()

# The properties of one set_tests_properties call (its ARGV from `first`, as
# NAME VALUE pairs; a macro, so ARGC and ARGV<n> are the calling function's and
# every value arrives whole, `;` included): sets groups (the test's own
# RESOURCE_GROUPS, else ""), own_groups, own_processors, own_cost (ON when it
# names RESOURCE_GROUPS, PROCESSORS, COST) and launch_given (CORRAL_LAUNCH_TIMEOUT).
macro(_corral_cover_scan first)
  set(launch_given OFF)
  set(own_groups OFF)
  set(own_processors OFF)
  set(own_cost OFF)
  set(groups "")
  set(i ${first})
  while(i LESS ARGC)
    math(EXPR j "${i} + 1")
    if("${ARGV${i}}" STREQUAL "CORRAL_LAUNCH_TIMEOUT")
      set(launch_given ON)
    elseif("${ARGV${i}}" STREQUAL "RESOURCE_GROUPS")
      set(own_groups ON)
      set(groups "${ARGV${j}}")
    elseif("${ARGV${i}}" STREQUAL "PROCESSORS")
      set(own_processors ON)
    elseif("${ARGV${i}}" STREQUAL "COST")
      set(own_cost ON)
    endif()
    math(EXPR i "${i} + 2")
  endwhile()
endmacro()

# For the test `name`, after _corral_cover_scan (and the directory's groups,
# when the test names none): the profile's needs once per test, at its first
# set_tests_properties (CMake >= 3.14 writes one for every test;
# _corral_profile_apply), then the test's final RESOURCE_GROUPS appended to
# `pairs`. A macro with no arguments: `name` is read as the caller's variable,
# never pasted into the body.
macro(_corral_cover_profile_once)
  get_property(first_call GLOBAL PROPERTY "_CORRAL_FIRST_DONE_${name}")
  if(NOT first_call)
    set_property(GLOBAL PROPERTY "_CORRAL_FIRST_DONE_${name}" ON)
    _corral_profile_apply("${name}" own_processors own_cost)
  endif()
  # More cpus than this spec's slots (made when ctest starts, on a smaller
  # machine than the configure-time plan's, or CORRAL_PARALLEL_LEVEL lower):
  # held as all of them, so the test runs alone, as corral_add_test caps it at
  # configure time. CTest never runs a test whose group cannot fit ("Not Run").
  if(NOT _corral_cov_cpu_slots STREQUAL "")
    string(REGEX MATCHALL "(^|[,;])cpus:[0-9]+" _c_asks "${groups}")
    foreach(_c_ask IN LISTS _c_asks)
      string(REGEX REPLACE "^[,;]?cpus:" "" _c_n "${_c_ask}")
      if(_c_n GREATER _corral_cov_cpu_slots)
        string(REGEX REPLACE "(^|[,;])cpus:${_c_n}([,;]|$)" "\\1cpus:${_corral_cov_cpu_slots}\\2"
               groups "${groups}")
      endif()
    endforeach()
  endif()
  if(NOT groups STREQUAL "")
    _corral_quote(v "${groups}")
    string(APPEND pairs " \"RESOURCE_GROUPS\" ${v}")
  endif()
endmacro()

# A corral_add_test test's properties (set_tests_properties's ARGV from
# `first`): the same, with the profile applied once (its RESOURCE_GROUPS,
# PROCESSORS, COST; ENFORCE_MEMORY's limit). Appends a call to `code`.
macro(_corral_cover_profile_made name first)
  set(pairs "")
  set(env "")
  _corral_cover_scan(${first})
  set(i ${first})
  while(i LESS ARGC)
    math(EXPR j "${i} + 1")
    if(NOT "${ARGV${i}}" STREQUAL "RESOURCE_GROUPS")
      _corral_quote(k "${ARGV${i}}")
      _corral_quote(v "${ARGV${j}}")
      string(APPEND pairs " ${k} ${v}")
    endif()
    math(EXPR i "${i} + 2")
  endwhile()
  _corral_cover_profile_once()
  if(env)
    # ctest appends ENVIRONMENT to what the test had.
    _corral_quote(v "${env}")
    string(APPEND pairs " \"ENVIRONMENT\" ${v}")
  endif()
  _corral_quote(q "${name}")
  string(APPEND code "_set_tests_properties(${q} PROPERTIES${pairs})\n")
endmacro()

function(set_tests_properties)
  # set_tests_properties(<name>... PROPERTIES <NAME> <VALUE>...)
  set(names_end -1)
  set(i 0)
  while(i LESS ARGC)
    if("${ARGV${i}}" STREQUAL "PROPERTIES")
      set(names_end ${i})
      break()
    endif()
    math(EXPR i "${i} + 1")
  endwhile()
  if(names_end LESS 0)
    set(code "_set_tests_properties(")
    set(i 0)
    while(i LESS ARGC)
      _corral_quote(q "${ARGV${i}}")
      string(APPEND code " ${q}")
      math(EXPR i "${i} + 1")
    endwhile()
    string(APPEND code ")")
    _corral_eval(code "${_corral_cov_out}/ctest-eval")
    return()
  endif()
  math(EXPR first_prop "${names_end} + 1")

  set(plain "")
  set(code "")
  set(n 0)
  while(n LESS names_end)
    set(name "${ARGV${n}}")
    _corral_quote(qname "${name}")
    math(EXPR n "${n} + 1")
    get_property(covered GLOBAL PROPERTY "_CORRAL_COVERED_${name}")
    get_property(profiled GLOBAL PROPERTY "_CORRAL_PROFILED_${name}")
    if(NOT covered AND profiled)
      _corral_cover_profile_made("${name}" ${first_prop})
      continue()
    elseif(NOT covered)
      string(APPEND plain " ${qname}")
      continue()
    endif()
    get_property(env GLOBAL PROPERTY "_CORRAL_ENV_${name}")
    get_property(scratch GLOBAL PROPERTY "_CORRAL_SCRATCH_${name}")
    set(pairs "")
    set(launch_timeout "")
    set(user_env "")
    set(have_env OFF)
    _corral_cover_scan(${first_prop})
    set(i ${first_prop})
    while(i LESS ARGC)
      math(EXPR j "${i} + 1")
      set(key "${ARGV${i}}")
      set(value "${ARGV${j}}")
      math(EXPR i "${i} + 2")
      if(key STREQUAL "FIXTURES_REQUIRED")
        set(list "${value}")
        list(FIND list "${_corral_cov_fixture}" at)
        if(at EQUAL -1)
          if(value STREQUAL "")
            set(value "${_corral_cov_fixture}")
          else()
            set(value "${value};${_corral_cov_fixture}")
          endif()
        endif()
      elseif(key STREQUAL "ENVIRONMENT")
        set(user_env "${value}")
        set(have_env ON)
        continue()
      elseif(key STREQUAL "TIMEOUT" AND _corral_cov_use_launcher AND NOT launch_given)
        # The test's own timeout, scaled like every Corral timeout; the
        # launcher fires first, CTest's leaves it grace + margin.
        if(value MATCHES "^[0-9]+(\\.[0-9]+)?$" AND NOT value STREQUAL "0")
          string(REGEX REPLACE "\\..*" "" whole "${value}")
          if(whole STREQUAL "0")
            set(whole 1)
          endif()
          if(launch_timeout STREQUAL "")
            _corral_scale(launch_timeout ${whole} "${_corral_cov_multiplier}")
          endif()
          continue()
        endif()
      elseif(key STREQUAL "TIMEOUT")
        if(value MATCHES "^[0-9]+$" AND NOT value STREQUAL "0")
          _corral_scale(value ${value} "${_corral_cov_multiplier}")
        endif()
      elseif(key STREQUAL "CORRAL_LAUNCH_TIMEOUT")
        # From corral_test_properties: already scaled, with its own TIMEOUT.
        set(launch_timeout "${value}")
      elseif(key STREQUAL "RESOURCE_GROUPS")
        continue()  # below, with the profile's memory
      elseif(key STREQUAL "CORRAL_SCRATCH" AND value)
        set(scratch ON)
      elseif(key STREQUAL "CORRAL_LOCKS" AND _corral_cov_use_launcher)
        # From corral_test_properties: host-wide locks, handed to corral run.
        string(REPLACE ";" "," locks_value "${value}")
        list(APPEND env "CORRAL_CTEST_LOCKS=${locks_value}")
      endif()
      _corral_quote(k "${key}")
      _corral_quote(v "${value}")
      string(APPEND pairs " ${k} ${v}")
    endwhile()
    # The directory's resource groups, unless the test names its own (ctest
    # would add both), once.
    if(NOT own_groups)
      get_property(groups GLOBAL PROPERTY "_CORRAL_GROUPS_${name}")
    endif()
    _corral_cover_profile_once()
    set_property(GLOBAL PROPERTY "_CORRAL_GROUPS_${name}" "")
    if(NOT launch_timeout STREQUAL "")
      list(APPEND env "CORRAL_CTEST_TIMEOUT=${launch_timeout}")
      if(NOT launch_given)
        math(EXPR ctest_timeout "${launch_timeout} + ${_corral_cov_grace} + ${_corral_cov_margin}")
        string(APPEND pairs " \"TIMEOUT\" \"${ctest_timeout}\"")
      endif()
    endif()
    if(scratch AND NOT _corral_cov_use_launcher)
      string(MAKE_C_IDENTIFIER "${name}" stem)
      file(MAKE_DIRECTORY "${_corral_cov_scope}/${stem}")
      list(APPEND env "TMPDIR=${_corral_cov_scope}/${stem}")
    endif()
    if(have_env OR env)
      # ctest appends ENVIRONMENT (and FIXTURES_REQUIRED, LABELS) to what the
      # test had: the user's entries and ours after them.
      set(all "${user_env}")
      foreach(e IN LISTS env)
        if(all STREQUAL "")
          set(all "${e}")
        else()
          string(APPEND all ";${e}")
        endif()
      endforeach()
      _corral_quote(v "${all}")
      string(APPEND pairs " \"ENVIRONMENT\" ${v}")
    endif()
    string(APPEND code "_set_tests_properties(${qname} PROPERTIES${pairs})\n")
  endwhile()
  if(NOT plain STREQUAL "")
    string(APPEND code "_set_tests_properties(${plain} PROPERTIES")
    set(i ${first_prop})
    while(i LESS ARGC)
      _corral_quote(q "${ARGV${i}}")
      string(APPEND code " ${q}")
      math(EXPR i "${i} + 1")
    endwhile()
    string(APPEND code ")\n")
  endif()
  if(NOT code STREQUAL "")
    _corral_eval(code "${_corral_cov_out}/ctest-eval")
  endif()
endfunction()
