# CLI test of the two-process path: `polympc dealer` writes the files, then server and
# client run as two processes over TCP loopback (execute_process runs both COMMANDs at
# once); a second client run on the used file must be refused.
string(RANDOM LENGTH 4 ALPHABET 0123456789 r)
math(EXPR port "30000 + ${r}")
set(common --model ${MODEL} --images 6 --batch 3 --port ${port} --quiet --timeout 60000)
execute_process(COMMAND ${POLYMPC} dealer --model ${MODEL} --images 6 --batch 3 --p0 ${OUT}.p0 --p1 ${OUT}.p1
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "polympc dealer failed: ${err}")
endif()
execute_process(COMMAND ${POLYMPC} infer --role server --material ${OUT}.p0 ${common}
                COMMAND ${POLYMPC} infer --role client --material ${OUT}.p1 ${common} --client-seed 3
                        --json ${OUT}.client.json
                RESULTS_VARIABLE rcs OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rcs STREQUAL "0;0")
  message(FATAL_ERROR "two-process run failed (${rcs}):\n${out}\n${err}")
endif()
file(READ ${OUT}.client.json j)
string(JSON acc GET "${j}" accuracy)
string(JSON npred LENGTH "${j}" predictions)
if(NOT npred EQUAL 6)
  message(FATAL_ERROR "client report has ${npred} predictions")
endif()
execute_process(COMMAND ${POLYMPC} infer --role client --material ${OUT}.p1 ${common}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "already used")
  message(FATAL_ERROR "reusing a preprocessing file must be refused, got rc=${rc}: ${err}")
endif()
file(REMOVE ${OUT}.p0 ${OUT}.p1)
message(STATUS "two-process run: ok (client accuracy on 6 images ${acc})")
