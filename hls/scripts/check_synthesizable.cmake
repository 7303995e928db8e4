# Synthesizability guard for kernels/ (docs/design.md §7), run as a CTest test:
#   cmake -DCXX=<c++ compiler> -DSOURCE_DIR=<repo root> -P hls/scripts/check_synthesizable.cmake
# 1. every kernels/*.cpp compiles as C++14 with -fno-exceptions -fno-rtti, warnings as errors;
# 2. kernels/*.h and *.cpp (comments stripped) use no heap, STL, virtual functions,
#    exceptions or RTTI;
# 3. every loop is labelled, and every loop pragma (PIPELINE, UNROLL, LOOP_TRIPCOUNT) is the
#    first statement of its loop body.
if(NOT CXX OR NOT SOURCE_DIR)
  message(FATAL_ERROR "usage: cmake -DCXX=<compiler> -DSOURCE_DIR=<repo root> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()

file(GLOB kernel_sources ${SOURCE_DIR}/kernels/*.cpp)
file(GLOB kernel_headers ${SOURCE_DIR}/kernels/*.h)
if(NOT kernel_sources)
  message(FATAL_ERROR "no kernels/*.cpp found under ${SOURCE_DIR}")
endif()
set(failures 0)

foreach(src ${kernel_sources})
  execute_process(
    COMMAND ${CXX} -std=c++14 -fno-exceptions -fno-rtti -fsyntax-only
            -Wall -Wextra -Wpedantic -Wshadow -Werror
            -I${SOURCE_DIR}/hls/include -I${SOURCE_DIR} ${src}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(SEND_ERROR "${src}: does not compile as C++14 without exceptions/RTTI:\n${out}${err}")
    math(EXPR failures "${failures} + 1")
  endif()
endforeach()

set(forbidden_patterns
  "[^A-Za-z0-9_]new[^A-Za-z0-9_]" "[^A-Za-z0-9_]delete[^A-Za-z0-9_]"
  "[^A-Za-z0-9_]malloc[ (]" "[^A-Za-z0-9_]calloc[ (]" "[^A-Za-z0-9_]realloc[ (]"
  "[^A-Za-z0-9_]free[ (]" "std::" "[^A-Za-z0-9_]virtual[^A-Za-z0-9_]"
  "[^A-Za-z0-9_]throw[^A-Za-z0-9_]" "[^A-Za-z0-9_]try[^A-Za-z0-9_]"
  "[^A-Za-z0-9_]catch[^A-Za-z0-9_]" "dynamic_cast" "typeid" "#include <(vector|map|string|memory|deque|list)>")

foreach(file ${kernel_sources} ${kernel_headers})
  file(STRINGS ${file} lines)
  set(lineno 0)
  set(prev "")
  foreach(line IN LISTS lines)
    math(EXPR lineno "${lineno} + 1")
    string(REGEX REPLACE "//.*$" "" code " ${line} ")
    foreach(pat ${forbidden_patterns})
      if(code MATCHES "${pat}")
        message(SEND_ERROR "${file}:${lineno}: forbidden in kernels (${pat}): ${line}")
        math(EXPR failures "${failures} + 1")
      endif()
    endforeach()
    if(code MATCHES "[^A-Za-z0-9_]for \\(")
      if(NOT prev MATCHES "^ *[a-z0-9_]+: *$")
        message(SEND_ERROR "${file}:${lineno}: loop without a label on the line before")
        math(EXPR failures "${failures} + 1")
      endif()
    endif()
    if(code MATCHES "POLYMPC_HLS\\((PIPELINE|UNROLL|LOOP_TRIPCOUNT)")
      if(NOT (prev MATCHES "for \\(.*\\{ *$" OR prev MATCHES "POLYMPC_HLS\\((PIPELINE|UNROLL|LOOP_TRIPCOUNT)"))
        message(SEND_ERROR "${file}:${lineno}: loop pragma is not the first statement of a loop body")
        math(EXPR failures "${failures} + 1")
      endif()
    endif()
    if(NOT line MATCHES "^ *$")
      set(prev "${line}")
    endif()
  endforeach()
endforeach()

if(failures GREATER 0)
  message(FATAL_ERROR "kernels/: ${failures} synthesizability check(s) failed")
endif()
list(LENGTH kernel_sources n_src)
list(LENGTH kernel_headers n_hdr)
message(STATUS "kernels/: ${n_src} tops and ${n_hdr} cores pass the synthesizability guard")
