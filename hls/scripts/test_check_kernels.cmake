# Self-test of hls/scripts/check_kernels.cmake: a guard that never fails proves nothing.
# Copies the kernel tree to a scratch directory, injects one fault per case, runs the guard
# and expects it to fail with a message that names the fault; the clean copy must pass.
#
# usage: cmake -DCXX=<c++> -DSOURCE_DIR=<repo root> -DWORK_DIR=<scratch dir>
#              -P hls/scripts/test_check_kernels.cmake
cmake_minimum_required(VERSION 3.25)
foreach(v CXX SOURCE_DIR WORK_DIR)
  if(NOT ${v})
    message(FATAL_ERROR "usage: cmake -DCXX=... -DSOURCE_DIR=... -DWORK_DIR=... -P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
endforeach()

set(failures 0)

# Fresh copy of what the guard reads, with the generated headers made from its description.
function(make_tree root)
  file(REMOVE_RECURSE ${root})
  file(MAKE_DIRECTORY ${root}/hls)
  file(COPY ${SOURCE_DIR}/kernels DESTINATION ${root})
  foreach(d include check cmake scripts tb)
    file(COPY ${SOURCE_DIR}/hls/${d} DESTINATION ${root}/hls)
  endforeach()
  file(COPY ${SOURCE_DIR}/hls/kernels.json DESTINATION ${root}/hls)
endfunction()

function(generate root)
  set(POLYMPC_SOURCE_ROOT ${root})
  include(${root}/hls/cmake/kernel_description.cmake)
  polympc_read_kernel_description(${root}/hls/kernels.json)
  polympc_generate_kernel_files(${root}/generated ${root}/link.cfg "DDR[0]")
endfunction()

function(run_guard root out_rc out_log)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -DCXX=${CXX} -DSOURCE_DIR=${root}
            -DKERNELS_JSON=${root}/hls/kernels.json -DGENERATED_INCLUDE=${root}/generated
            -DWORK_DIR=${root}/work -P ${root}/hls/scripts/check_kernels.cmake
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${out_rc} ${rc} PARENT_SCOPE)
  set(${out_log} "${out}${err}" PARENT_SCOPE)
endfunction()

# replace(<file> <old> <new>): literal replacement that must happen.
function(replace file old new)
  file(READ ${file} text)
  string(FIND "${text}" "${old}" pos)
  if(pos LESS 0)
    message(FATAL_ERROR "self-test fixture out of date: '${old}' not found in ${file}")
  endif()
  string(REPLACE "${old}" "${new}" text "${text}")
  file(WRITE ${file} "${text}")
endfunction()

# expect_fail(<name> <regex>): the guard on ${root} fails and says <regex>.
function(expect_fail name regex)
  generate(${root})
  run_guard(${root} rc log)
  if(rc EQUAL 0)
    message(SEND_ERROR "case '${name}': the guard passed a faulty kernel tree")
    math(EXPR failures "${failures} + 1")
  elseif(NOT log MATCHES "${regex}")
    message(SEND_ERROR "case '${name}': the guard failed without saying '${regex}':\n${log}")
    math(EXPR failures "${failures} + 1")
  else()
    message(STATUS "case '${name}': caught")
  endif()
  set(failures ${failures} PARENT_SCOPE)
endfunction()

set(root ${WORK_DIR}/clean)
make_tree(${root})
generate(${root})
run_guard(${root} rc log)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the guard fails on the unmodified kernels:\n${log}")
endif()

set(core ${WORK_DIR}/case/kernels/beaver_mul_combine.h)
set(top ${WORK_DIR}/case/kernels/beaver_mul_combine.cpp)
set(json ${WORK_DIR}/case/hls/kernels.json)
set(root ${WORK_DIR}/case)

make_tree(${root})
replace(${core} "inline uint64_t beaver_mul_lane(bool p0, uint64_t mask, uint64_t d, uint64_t e, uint64_t a,\n"
        "inline uint64_t beaver_mul_lane(bool p0, uint64_t mask, uint64_t d, uint64_t e, uint64_t a,\n                                uint64_t b, uint64_t c);\ninline uint64_t beaver_mul_lane_r(bool p0, uint64_t mask, uint64_t d, uint64_t e, uint64_t a,\n                                uint64_t b, uint64_t c) {\n  return d == 0 ? c : beaver_mul_lane(p0, mask, d - 1, e, a, b, c);\n}\ninline uint64_t beaver_mul_lane(bool p0, uint64_t mask, uint64_t d, uint64_t e, uint64_t a,\n")
replace(${core} "  return (c + d * b + e * a + pub) & mask;" "  return d > 7 ? beaver_mul_lane_r(p0, mask, d >> 1, e, a, b, c) : (c + d * b + e * a + pub) & mask;")
expect_fail("mutual recursion" "is recursive: call cycle through")

make_tree(${root})
replace(${core} "struct BeaverMulDefaultConfig {" "struct Lane {\n  virtual uint64_t f(uint64_t x) const = 0;\n};\nstruct Id : Lane {\n  uint64_t f(uint64_t x) const { return x; }\n};\ninline uint64_t call_lane(const Lane& l, uint64_t x) { return l.f(x); }\nstruct BeaverMulDefaultConfig {")
replace(${core} "  return (c + d * b + e * a + pub) & mask;" "  Id l;\n  return (call_lane(l, c) + d * b + e * a + pub) & mask;")
expect_fail("virtual call" "indirect call \\(virtual function")

make_tree(${root})
replace(${core} "struct BeaverMulDefaultConfig {" "struct Lane {\n  virtual uint64_t f(uint64_t x) const { return x; }\n};\nstruct BeaverMulDefaultConfig {")
replace(${core} "  return (c + d * b + e * a + pub) & mask;" "  Lane l;\n  return (l.f(c) + d * b + e * a + pub) & mask;")
expect_fail("devirtualized virtual function" "a virtual function \\(virtual uint64_t")

make_tree(${root})
replace(${core} "#include <stdint.h>\n" "#include <stdint.h>\n#include <vector>\n")
replace(${core} "  return (c + d * b + e * a + pub) & mask;" "  std::vector<uint64_t> v(1, c);\n  return (v[0] + d * b + e * a + pub) & mask;")
expect_fail("STL container" "the C\\+\\+ standard library")

make_tree(${root})
replace(${core} "  return (c + d * b + e * a + pub) & mask;" "  uint64_t* t = new uint64_t(c);\n  const uint64_t r = *t;\n  delete t;\n  return (r + d * b + e * a + pub) & mask;")
expect_fail("heap allocation" "heap allocation \\(operator new/delete\\)")

make_tree(${root})
replace(${json} "{\"name\": \"n\", \"type\": \"uint32_t\"},\n        {\"name\": \"d\"" "{\"name\": \"n\", \"type\": \"uint64_t\"},\n        {\"name\": \"d\"")
expect_fail("signature differs from the description" "does not match its signature in hls/kernels.json")

make_tree(${root})
replace(${top} "port=z offset=slave bundle=gmem5" "port=z offset=slave bundle=gmem9")
expect_fail("m_axi bundle differs from the description" "argument 'z': no 'INTERFACE m_axi port=z")

make_tree(${root})
file(APPEND ${top} "\nextern \"C\" void beaver_extra_top(int party) {\n  POLYMPC_HLS(INTERFACE s_axilite port=party)\n  (void)party;\n}\n")
expect_fail("undescribed top" "'beaver_extra_top' is not described in hls/kernels.json")

if(failures GREATER 0)
  message(FATAL_ERROR "guard self-test: ${failures} case(s) not caught")
endif()
message(STATUS "guard self-test: every injected fault was caught")
