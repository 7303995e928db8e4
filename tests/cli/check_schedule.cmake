# CLI test of `polympc schedule` (called by CTest with -DPOLYMPC=... -DMODEL=... -DOUT=...
# and $ENV{CXX}):
#  * on the shipped model it prints the allocation with MODELLED latencies against the
#    headers' defaults and the equal split, writes plan.json and a configuration header;
#  * the header compiles with every kernel top (as the hls/ flow compiles them with
#    -DPOLYMPC_PLAN_CONFIG), so the kernels' static checks accept the plan's configuration;
#  * `polympc perf --plan` prices with the plan's kernels and gives the plan's latency;
#    a plan made for another board and infeasible requests are one-line errors.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
get_filename_component(SRC ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
file(MAKE_DIRECTORY ${OUT})

execute_process(COMMAND ${POLYMPC} schedule --model ${MODEL} --board u280 --network lan --out ${OUT}/plan.json
                        --hls-config ${OUT}/polympc_plan_config.h --trace ${OUT}/trace.json --layers
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "polympc schedule failed (${rc}):\n${out}\n${err}")
endif()
foreach(needle "MODELLED" "matmul_combine" "lanes x [0-9]+ rows" "modelled latency: plan [0-9.]+ ms"
               "equal split" "configurations priced" "with tiling and overlap" "naive plan \\(equal split, no overlap\\)"
               "bottleneck" "trace: ")
  if(NOT out MATCHES "${needle}")
    message(FATAL_ERROR "polympc schedule: output lacks '${needle}':\n${out}")
  endif()
endforeach()

file(READ ${OUT}/trace.json trace)
string(JSON nev LENGTH "${trace}" traceEvents)
if(nev LESS 10)
  message(FATAL_ERROR "trace.json has ${nev} events")
endif()

# A network with Winograd layers (--winograd 2): the scheduler sizes winograd_transform too
# and the header configures its top.
file(MAKE_DIRECTORY ${OUT}/winograd)
execute_process(COMMAND ${POLYMPC} schedule --arch resnet18-cifar --winograd 2 --board u280 --network lan
                        --hls-config ${OUT}/winograd/polympc_plan_config.h
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "winograd_transform +[0-9]+ lanes")
  message(FATAL_ERROR "polympc schedule --winograd 2 failed or did not size winograd_transform (${rc}):\n${out}\n${err}")
endif()
file(READ ${OUT}/winograd/polympc_plan_config.h wheader)
if(NOT wheader MATCHES "#define POLYMPC_WINOGRAD_CONFIG PolympcPlanWinogradConfig")
  message(FATAL_ERROR "the Winograd plan's header does not configure winograd_transform:\n${wheader}")
endif()
polympc_expect_fail("schedule --winograd 3" "expected off, 2 or 4"
                    ${POLYMPC} schedule --arch resnet18-cifar --winograd 3)

# The configuration headers compile with every kernel top.
file(GLOB tops ${SRC}/kernels/*.cpp)
foreach(dir ${OUT} ${OUT}/winograd)
  foreach(top ${tops})
    execute_process(COMMAND $ENV{CXX} -std=c++14 -fsyntax-only -fno-exceptions -fno-rtti -Wno-unknown-pragmas
                            -DPOLYMPC_PLAN_CONFIG -I${dir} -I${SRC} -I${SRC}/hls/include ${top}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE cout ERROR_VARIABLE cerr)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${top} does not compile with the plan's configuration header ${dir}:\n${cerr}")
    endif()
  endforeach()
endforeach()

# perf --plan gives the plan's modelled latency.
file(READ ${OUT}/plan.json plan)
string(JSON planned GET "${plan}" modelled latency_s)
polympc_run_ok("polympc perf --plan" ${POLYMPC} perf --model ${MODEL} --board u280 --network lan --plan ${OUT}/plan.json
               --json ${OUT}/perf.json --no-sites)
file(READ ${OUT}/perf.json report)
string(JSON got GET "${report}" total latency_s)
string(REGEX MATCH "^([0-9]+\\.[0-9][0-9][0-9][0-9][0-9])" a "${planned}")
string(REGEX MATCH "^([0-9]+\\.[0-9][0-9][0-9][0-9][0-9])" b "${got}")
if(NOT a STREQUAL b)
  message(FATAL_ERROR "perf --plan latency ${got} s differs from the plan's ${planned} s")
endif()

polympc_expect_fail("perf --plan on another board" "made for u280, used with u250"
                    ${POLYMPC} perf --model ${MODEL} --board u250 --plan ${OUT}/plan.json)
polympc_expect_fail("schedule with a tiny budget" "cannot hold one lane of every kernel"
                    ${POLYMPC} schedule --model ${MODEL} --board zcu104 --budget 0.001)
polympc_expect_fail("schedule on an unknown board" "unknown board|no board"
                    ${POLYMPC} schedule --model ${MODEL} --board u999)
polympc_expect_fail("schedule with an unknown preset" "preset|network"
                    ${POLYMPC} schedule --model ${MODEL} --network moon)
# infer --plan prints the plan's modelled layers beside the measured ones; --trace writes
# the measured timeline (checked in depth by test_scheduler's MeasuredTimeline test).
execute_process(COMMAND ${POLYMPC} infer --model ${MODEL} --images 6 --batch 3 --quiet --plan ${OUT}/plan.json
                        --trace ${OUT}/measured.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "modelled ms/img \\(plan\\)" OR NOT out MATCHES "conv1 ")
  message(FATAL_ERROR "infer --plan failed or printed no comparison (${rc}):\n${out}\n${err}")
endif()
# ... and executes the plan's tiling (at most the batch per layer): same logits as the twin.
if(NOT out MATCHES "logits bit-identical: 6/6" OR NOT out MATCHES "tiling lanes: 2")
  message(FATAL_ERROR "infer --plan did not execute the tiling with logits equal to the twin:\n${out}")
endif()
# --tiles overrides the plan's counts; bad counts, unknown layers and a plan of another
# network are one-line errors.
execute_process(COMMAND ${POLYMPC} infer --model ${MODEL} --images 6 --batch 3 --quiet --plan ${OUT}/plan.json
                        --tiles conv1=3,act1=2 --tile-lanes 3 --threads 4
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "logits bit-identical: 6/6" OR NOT out MATCHES "conv1 +[0-9]+ +3 ")
  message(FATAL_ERROR "infer --plan --tiles failed or ran other tiles (${rc}):\n${out}\n${err}")
endif()
# The lanes share the party's --threads: 4 threads over 3 lanes is 1 each (at least 1).
if(NOT out MATCHES "cpu threads per backend: 1 ")
  message(FATAL_ERROR "infer --tile-lanes 3 did not share the party's threads:\n${out}")
endif()
# Both parties of an in-process run share the cores: --threads 0 is half of them per party,
# --threads N is N per party.
cmake_host_system_information(RESULT cores QUERY NUMBER_OF_LOGICAL_CORES)
math(EXPR half "${cores} / 2")
if(half LESS 1)
  set(half 1)
endif()
foreach(threads_and_expected "0;${half}" "3;3")
  list(GET threads_and_expected 0 t)
  list(GET threads_and_expected 1 expected)
  execute_process(COMMAND ${POLYMPC} infer --model ${MODEL} --images 3 --batch 3 --quiet --threads ${t}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "cpu threads per backend: ${expected} ")
    message(FATAL_ERROR "infer --threads ${t}: expected ${expected} cpu threads per backend (${cores} cores):\n${out}\n${err}")
  endif()
endforeach()
polympc_expect_fail("infer --tiles 0" "tile count in \\[1, 4096\\]"
                    ${POLYMPC} infer --model ${MODEL} --images 3 --batch 3 --tiles 0)
polympc_expect_fail("infer --tiles of an unknown layer" "not LAYER=N with a layer of the model"
                    ${POLYMPC} infer --model ${MODEL} --images 3 --batch 3 --tiles conv9=2)
execute_process(COMMAND ${POLYMPC} schedule --arch resnet18-cifar --board u280 --network lan --out ${OUT}/plan_resnet.json
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "schedule --arch resnet18-cifar failed: ${err}")
endif()
polympc_expect_fail("infer --plan of another network" "made for another network"
                    ${POLYMPC} infer --model ${MODEL} --images 3 --batch 3 --plan ${OUT}/plan_resnet.json)
file(READ ${OUT}/measured.json measured)
string(JSON is_modelled GET "${measured}" otherData modelled)
string(JSON n_events LENGTH "${measured}" traceEvents)
if(is_modelled OR n_events LESS 20)
  message(FATAL_ERROR "infer --trace wrote no measured timeline (${n_events} events, modelled=${is_modelled})")
endif()
polympc_expect_fail("infer --plan with other options" "made for --compare fss"
                    ${POLYMPC} infer --model ${MODEL} --images 3 --batch 3 --compare gmw --plan ${OUT}/plan.json)
message(STATUS "schedule: plan ${planned} s, perf --plan ${got} s (modelled)")
# A plan records the Winograd forms it was made for; perf --plan and infer --plan with other
# forms are one-line errors naming the layer, the same forms run.
set(RESNET8 ${SRC}/models/fmnist_resnet8.onnx)
polympc_run_ok("schedule --winograd 2" ${POLYMPC} schedule --model ${RESNET8} --board u280 --network lan --winograd 2
               --out ${OUT}/plan_wino.json)
polympc_expect_fail("perf --plan of another Winograd form" "layer 'stem' was planned in Winograd F\\(2x2, 3x3\\)"
                    ${POLYMPC} perf --model ${RESNET8} --board u280 --plan ${OUT}/plan_wino.json)
polympc_expect_fail("infer --plan of another Winograd form" "layer 'stem' was planned in Winograd F\\(2x2, 3x3\\)"
                    ${POLYMPC} infer --model ${RESNET8} --images 2 --batch 2 --plan ${OUT}/plan_wino.json --winograd 4)
polympc_run_ok("perf --plan with the same Winograd form" ${POLYMPC} perf --model ${RESNET8} --board u280
               --plan ${OUT}/plan_wino.json --winograd 2)
