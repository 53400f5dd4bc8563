# corral_setup(PROFILE) and ENFORCE_MEMORY end to end, with real cmake/ninja/ctest
# on tests/package/data/profile (copied, since the profile goes into the source
# tree where corral_setup finds it by default).
#
#   cmake -DMODE=apply|check|enforce -DSOURCE=<data/profile> -DWORK=<dir>
#         -DCMAKE_BIN=<cmake> -DCTEST_BIN=<ctest> -DCORRAL=<corral>
#         -DCORRAL_BUILD=<corral build dir> -P check_profile.cmake
#
# apply:   hand-written records -> corral profile --out <src>/corral-profile.json ->
#          configure; ctest --show-only=json-v1 shows each test's resource groups,
#          COST and PROCESSORS: corral_add_test, add_test and gtest-discovered tests
#          without a declaration get the measured mem_mib (peak + 20 %), declared
#          ones keep theirs, own PROCESSORS/COST win, tests not in the profile get
#          nothing.
# check:   a real run: hog.over declares 64M and holds 300 MiB; corral profile
#          --check exits 1 and names it with both numbers; hog.within is not flagged.
# enforce: ENFORCE_MEMORY on this host's memory cgroup: hog.over is OOM-killed,
#          hog.within passes.
cmake_minimum_required(VERSION 3.19)  # string(JSON); the projects use the CMake under test
include("${CMAKE_CURRENT_LIST_DIR}/package_script.cmake")
package_script_start(check_profile.cmake MODE SOURCE WORK CMAKE_BIN CTEST_BIN CORRAL CORRAL_BUILD)
set(src "${WORK}/src")
set(build "${WORK}/build")
file(COPY "${SOURCE}/" DESTINATION "${src}")

function(configure)
  run("configure" "${CMAKE_BIN}" -S "${src}" -B "${build}" -G Ninja
      "-DCorral_DIR=${CORRAL_BUILD}" ${EXTRA} ${ARGN})
  set(output "${output}" PARENT_SCOPE)
  message("${output}")
endfunction()

if(MODE STREQUAL "apply")
  # Records as corral run writes them (issue 13 fields where launch writes
  # them; plain.none's record predates them: the profile falls back to its
  # cgroup peak).
  set(r "{\"schema\":\"corral.record/1\",\"run_id\":\"r1\",\"launcher_exit_code\":0,\"exit_code\":0")
  file(WRITE "${WORK}/records.jsonl"
    "${r},\"name\":\"made.none\",\"start_unix\":100,\"wall_seconds\":2.0,\"cpu_user_seconds\":1.0,\"peak_memory_bytes\":900000000,\"peak_nonreclaimable_bytes\":104857600}\n"
    "${r},\"name\":\"made.declared\",\"start_unix\":101,\"wall_seconds\":1.0,\"cpu_user_seconds\":0.5,\"peak_nonreclaimable_bytes\":209715200}\n"
    "${r},\"name\":\"made.cpus\",\"start_unix\":102,\"wall_seconds\":1.0,\"cpu_user_seconds\":3.0,\"peak_nonreclaimable_bytes\":10485760}\n"
    "${r},\"name\":\"plain.none\",\"start_unix\":103,\"wall_seconds\":4.0,\"cpu_user_seconds\":12.0,\"peak_memory_bytes\":52428800}\n"
    "${r},\"name\":\"plain.own_cost\",\"start_unix\":104,\"wall_seconds\":4.0,\"cpu_user_seconds\":1.0,\"peak_nonreclaimable_bytes\":52428800}\n"
    "${r},\"name\":\"plain.declared\",\"start_unix\":105,\"wall_seconds\":3.0,\"cpu_user_seconds\":1.0,\"peak_nonreclaimable_bytes\":10485760}\n"
    "${r},\"name\":\"Cases.Heavy\",\"start_unix\":106,\"wall_seconds\":1.5,\"cpu_user_seconds\":1.0,\"peak_nonreclaimable_bytes\":314572800}\n")
  run("corral profile" "${CORRAL}" profile --records "${WORK}/records.jsonl" --out
      "${src}/corral-profile.json")
  configure(-DWITH_GTEST=ON -DCORRAL_CPUS=2)
  if(NOT output MATCHES "Corral: profile [^\n]*corral-profile.json: measured needs for 7 tests")
    message(FATAL_ERROR "configure did not say which profile gave how many tests measured needs")
  endif()
  run("build" "${CMAKE_BIN}" --build "${build}")
  run("ctest --show-only" "${CTEST_BIN}" --test-dir "${build}" --show-only=json-v1)
  set(json "${output}")

  # name -> "mem_mib cpus COST PROCESSORS" (- for none)
  string(JSON count LENGTH "${json}" tests)
  math(EXPR last "${count} - 1")
  foreach(i RANGE 0 ${last})
    string(JSON name GET "${json}" tests ${i} name)
    set(mem -)
    set(cpus -)
    set(cost -)
    set(procs -)
    string(JSON nprops ERROR_VARIABLE err LENGTH "${json}" tests ${i} properties)
    if(err STREQUAL "NOTFOUND" AND nprops GREATER 0)
      math(EXPR plast "${nprops} - 1")
      foreach(p RANGE 0 ${plast})
        string(JSON pname GET "${json}" tests ${i} properties ${p} name)
        if(pname STREQUAL "COST")
          string(JSON cost GET "${json}" tests ${i} properties ${p} value)
          string(REGEX REPLACE "^([0-9]+)(\\.0*)?$" "\\1" cost "${cost}")  # 240.0 -> 240
        elseif(pname STREQUAL "PROCESSORS")
          string(JSON procs GET "${json}" tests ${i} properties ${p} value)
        elseif(pname STREQUAL "RESOURCE_GROUPS")
          string(JSON reqs GET "${json}" tests ${i} properties ${p} value 0 requirements)
          string(JSON nreq LENGTH "${reqs}")
          math(EXPR rlast "${nreq} - 1")
          foreach(q RANGE 0 ${rlast})
            string(JSON type GET "${reqs}" ${q} .type)
            string(JSON slots GET "${reqs}" ${q} slots)
            if(type STREQUAL "mem_mib")
              set(mem ${slots})
            elseif(type STREQUAL "cpus")
              set(cpus ${slots})
            endif()
          endforeach()
        endif()
      endforeach()
    endif()
    set(got_${name} "${mem} ${cpus} ${cost} ${procs}")
    message("${name}: mem_mib cpus COST PROCESSORS = ${got_${name}}")
  endforeach()

  # Expected (margin 20 %: ceil(peak x 1.2 / MiB); COST = median wall s x mem_mib;
  # PROCESSORS = round(cpu / wall) when > 1.25, at most the plan's 2 cpus slots).
  set(expect_made.none "120 1 240 -")          # corral_add_test, no MEMORY: measured
  set(expect_made.declared "100 1 100 -")      # its own MEMORY 100M wins; COST from it
  set(expect_made.cpus "12 1 12 -")            # own CPUS 1 wins over the measured 3 (PROCESSORS 1 is not listed)
  set(expect_plain.none "60 2 240 2")          # add_test: measured, 3 CPUs -> 2 (the plan's)
  set(expect_plain.own_cost "60 1 7 -")        # its own COST wins
  set(expect_plain.declared "50 1 150 -")      # corral_test_properties(MEMORY 50M) wins
  set(expect_plain.unprofiled "- 1 - -")       # not in the profile: nothing
  set(expect_Cases.Heavy "360 1 540 -")        # gtest-discovered: measured
  set(expect_Cases.Light "- 1 - -")            # gtest-discovered, not in the profile
  foreach(name made.none made.declared made.cpus plain.none plain.own_cost plain.declared
               plain.unprofiled Cases.Heavy Cases.Light)
    if(NOT DEFINED got_${name})
      message(FATAL_ERROR "${name}: not listed by ctest --show-only=json-v1")
    endif()
    if(NOT got_${name} STREQUAL expect_${name})
      message(FATAL_ERROR "${name}: got \"${got_${name}}\" (mem_mib cpus COST PROCESSORS), "
                          "expected \"${expect_${name}}\"")
    endif()
  endforeach()
  file(READ "${build}/corral-plan/profile-applied.txt" applied)
  # made.declared's own MEMORY wins, but its COST is measured: listed with "-".
  if(NOT applied MATCHES "\nmade.none 120 240.000 -\n" OR
     NOT applied MATCHES "\nmade.declared - 100.000 -\n" OR applied MATCHES "plain.unprofiled")
    message(FATAL_ERROR "profile-applied.txt does not list what was applied:\n${applied}")
  endif()
  message("PASS: the profile's needs reached corral_add_test, add_test and gtest tests")
  return()
endif()

if(MODE STREQUAL "check")
  configure(-DHOG=ON)
  run("build" "${CMAKE_BIN}" --build "${build}")
  run("ctest" "${CTEST_BIN}" --test-dir "${build}" -R "^hog\\." --output-on-failure)
  execute_process(COMMAND "${CORRAL}" profile --records "${build}/corral-plan/records.jsonl"
                          --check
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("corral profile --check: exit ${rc}\n${out}${err}")
  if(NOT rc EQUAL 1)
    message(FATAL_ERROR "corral profile --check exited ${rc}, expected 1 (an under-declared test)")
  endif()
  if(NOT out MATCHES "UNDER-DECLARED hog\\.over: declared 64\\.0 MiB \\(67108864 B\\), peak (3[0-9][0-9])\\.[0-9] MiB")
    message(FATAL_ERROR "--check did not name hog.over with its declaration and its peak")
  endif()
  if(out MATCHES "(UNDER-DECLARED|over-declared|undeclared) hog\\.within")
    message(FATAL_ERROR "--check flagged hog.within, which holds 40 MiB of its 128")
  endif()
  message("PASS: --check flags the under-declared test with both numbers and exit 1")
  return()
endif()

if(MODE STREQUAL "enforce")
  configure(-DHOG=ON -DENFORCE=ON)
  if(NOT output MATCHES "ENFORCE_MEMORY: each test's memory grant")
    if(output MATCHES "cannot enforce")
      message("CORRAL_SKIP: this host cannot enforce per-test memory limits (configure said so)")
      return()
    endif()
    message(FATAL_ERROR "configure said nothing about ENFORCE_MEMORY")
  endif()
  run("build" "${CMAKE_BIN}" --build "${build}")
  execute_process(COMMAND "${CTEST_BIN}" --test-dir "${build}" -R "^hog\\." -j 2
                          --output-on-failure
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT out MATCHES "hog\\.over [.]*\\*\\*\\*Failed")
    message(FATAL_ERROR "hog.over (64M declared, 300 MiB held) was not stopped")
  endif()
  if(NOT out MATCHES "hog\\.within [.]* +Passed")
    message(FATAL_ERROR "hog.within (40 MiB of its 128M) did not pass")
  endif()
  if(NOT out MATCHES "hit its memory limit \\(64\\.0 MiB\\) and was OOM-killed")
    message(FATAL_ERROR "the output does not say hog.over was OOM-killed at its 64 MiB")
  endif()
  file(STRINGS "${build}/corral-plan/records.jsonl" lines)
  foreach(line IN LISTS lines)
    string(JSON name GET "${line}" name)
    string(JSON oom GET "${line}" oom_killed)
    string(JSON limit GET "${line}" memory_limit_bytes)
    message("${name}: oom_killed ${oom}, memory_limit_bytes ${limit}")
    if(name STREQUAL "hog.over")
      set(expected 67108864)   # 64M
    else()
      set(expected 134217728)  # 128M
    endif()
    if(NOT limit STREQUAL expected)
      message(FATAL_ERROR "${name}: memory_limit_bytes ${limit}, expected ${expected} (its grant)")
    endif()
    if(name STREQUAL "hog.over" AND NOT oom)
      message(FATAL_ERROR "hog.over: the record does not say oom_killed")
    elseif(name STREQUAL "hog.within" AND oom)
      message(FATAL_ERROR "hog.within was OOM-killed")
    endif()
  endforeach()
  message("PASS: only the test over its grant was OOM-killed")
  return()
endif()
message(FATAL_ERROR "MODE ${MODE}: expected apply, check or enforce")
