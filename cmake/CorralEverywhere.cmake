# CorralEverywhere.cmake: put a project that does not call Corral under it,
# without touching its sources. Configure it with
#
#   cmake -DCMAKE_PROJECT_TOP_LEVEL_INCLUDES=<prefix>/lib/cmake/Corral/CorralEverywhere.cmake ...
#         (CMake >= 3.24: included by the first project() call of the top level)
#   cmake -DCMAKE_PROJECT_INCLUDE=<prefix>/lib/cmake/Corral/CorralEverywhere.cmake ...
#         (CMake 3.16 - 3.23: included after every project() call; only the
#         top-level one counts)
#
# (<prefix>/lib/cmake/Corral is the installed package; a Corral build tree has
# this file at its top.) corral_setup() then runs for the top directory, with
# the arguments in the cache variable CORRAL_EVERYWHERE_ARGS (a ;-list, e.g.
# -DCORRAL_EVERYWHERE_ARGS=LEAK;fail), and every test of every directory runs
# under corral run (docs/cmake.md, "Every test, without a source change").
# With CMake >= 3.19 the call is deferred to the end of the top directory
# (cmake_language(DEFER)), so it sees the compile flags, enable_testing() and
# a project's own corral_setup(); before 3.19 it runs at the project() call.

if(CMAKE_VERSION VERSION_LESS 3.16)
  message(WARNING "CorralEverywhere: needs CMake 3.16 or newer; this is ${CMAKE_VERSION}")
  return()
endif()
if(NOT CMAKE_CURRENT_SOURCE_DIR STREQUAL CMAKE_SOURCE_DIR)
  return()  # a subproject's project() (CMAKE_PROJECT_INCLUDE reaches those too)
endif()
get_property(_corral_everywhere_seen GLOBAL PROPERTY CORRAL_EVERYWHERE_INCLUDED)
if(_corral_everywhere_seen)
  return()
endif()
set_property(GLOBAL PROPERTY CORRAL_EVERYWHERE_INCLUDED ON)
unset(_corral_everywhere_seen)

set(CORRAL_EVERYWHERE_ARGS "" CACHE STRING
    "Arguments for the corral_setup() that CorralEverywhere.cmake calls (a ;-list)")

include("${CMAKE_CURRENT_LIST_DIR}/CorralConfig.cmake")

macro(_corral_everywhere_setup)
  get_property(_corral_everywhere_done GLOBAL PROPERTY CORRAL_SETUP_DONE)
  if(_corral_everywhere_done)
    message(STATUS "CorralEverywhere: the project calls corral_setup() itself; using that")
  else()
    corral_setup(${CORRAL_EVERYWHERE_ARGS})
  endif()
  unset(_corral_everywhere_done)
endmacro()

if(NOT CMAKE_VERSION VERSION_LESS 3.19)
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _corral_everywhere_setup)  # guarded: 3.19
else()
  _corral_everywhere_setup()
endif()
