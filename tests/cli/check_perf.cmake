# CLI test of `polympc perf` phases and of the run-level --trunc prob check (called by CTest
# with -DPOLYMPC=... -DMODEL=... -DOUT=...):
#  * --phase online (the default) prints today's table; --phase offline and --phase total
#    print the dealer's material and key generation and online + offline, labelled modelled;
#  * the JSON report has online, offline and total for every layer and every site choice,
#    whatever --phase says; total = online + offline;
#  * an unknown phase is a one-line error;
#  * `polympc infer --trunc prob` on 500 images of the shipped model is refused before it
#    runs, stating the expected number of failures and the remedies.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

execute_process(COMMAND ${POLYMPC} perf --model ${MODEL} RESULT_VARIABLE rc OUTPUT_VARIABLE online)
if(NOT rc EQUAL 0 OR NOT online MATCHES "latency ms" OR online MATCHES "phase online")
  message(FATAL_ERROR "polympc perf (default phase) failed or changed:\n${online}")
endif()
foreach(phase offline total)
  execute_process(COMMAND ${POLYMPC} perf --model ${MODEL} --compare fss --trunc fss --phase ${phase}
                          --json ${OUT}.${phase}.json
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "polympc perf --phase ${phase} failed (${rc}):\n${out}\n${err}")
  endif()
  foreach(needle "phase ${phase}" "MODELLED" "material/party" "modelled offline" "modelled total"
                 "sites x choices: ${phase} latency ms")
    if(NOT out MATCHES "${needle}")
      message(FATAL_ERROR "polympc perf --phase ${phase}: output lacks '${needle}':\n${out}")
    endif()
  endforeach()
  if(phase STREQUAL "total" AND NOT out MATCHES "online \\+ offline = total latency ms")
    message(FATAL_ERROR "polympc perf --phase total: no site table with the three phases:\n${out}")
  endif()
  file(READ ${OUT}.${phase}.json j)
  string(JSON p GET "${j}" phase)
  if(NOT p STREQUAL "${phase}")
    message(FATAL_ERROR "JSON phase is '${p}', expected '${phase}'")
  endif()
endforeach()

# Every layer and every site choice carries the three phases; total = online + offline.
string(JSON nl LENGTH "${j}" layers)
math(EXPR last "${nl} - 1")
foreach(i RANGE ${last})
  foreach(ph online offline total)
    string(JSON v ERROR_VARIABLE e GET "${j}" layers ${i} phases ${ph} latency_s)
    if(e)
      message(FATAL_ERROR "layer ${i} lacks phases.${ph}.latency_s: ${e}")
    endif()
  endforeach()
endforeach()
string(JSON ns LENGTH "${j}" sites)
if(ns LESS 1)
  message(FATAL_ERROR "no sites in the JSON report")
endif()
string(JSON site_choices GET "${j}" sites 0 choices)
string(JSON nc LENGTH "${site_choices}")
math(EXPR lastc "${nc} - 1")
foreach(c RANGE ${lastc})
  string(JSON name MEMBER "${site_choices}" ${c})
  foreach(ph online offline total)
    string(JSON v ERROR_VARIABLE e GET "${site_choices}" ${name} phases ${ph} bytes_per_party)
    if(e)
      message(FATAL_ERROR "site choice ${name} lacks phases.${ph}: ${e}")
    endif()
  endforeach()
endforeach()
string(JSON on GET "${j}" total phases online latency_s)
string(JSON off GET "${j}" total phases offline latency_s)
string(JSON tot GET "${j}" total phases total latency_s)
string(JSON mat GET "${j}" total offline_bytes)
string(JSON aes GET "${j}" total keygen_aes_blocks)
if(mat EQUAL 0 OR aes EQUAL 0 OR NOT off GREATER 0)
  message(FATAL_ERROR "FSS run without dealer material or key generation: bytes ${mat}, AES blocks ${aes}, s ${off}")
endif()
# (total = online + offline is checked to the last bit by PerfModel.OfflineAndTotalPhases.)

polympc_expect_fail("polympc perf --phase bogus" "unknown phase 'bogus'" ${POLYMPC} perf --model ${MODEL} --phase bogus)

# The run-level check of probabilistic truncation: 500 images x ~32k truncated elements per
# image at 2^-27 each is far above 2^-20 for the run.
polympc_expect_fail("polympc infer --trunc prob (500 images)"
                    "--trunc prob: this run truncates [0-9]+ elements \\(500 images x [0-9]+ truncated elements per image\\).*expects up to .* wrong results.*--trunc fss"
                    ${POLYMPC} infer --model ${MODEL} --images 500 --trunc prob --quiet)
# Accepted when the caller raises the limit (here to 2^0: at most one failure expected).
execute_process(COMMAND ${POLYMPC} infer --model ${MODEL} --images 1 --batch 1 --trunc prob --trunc-failure-limit 0
                        --quiet --insecure-test-seed 3 --json ${OUT}.prob.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "polympc infer --trunc prob --trunc-failure-limit 0 on 1 image failed (${rc}):\n${out}\n${err}")
endif()
file(READ ${OUT}.prob.json jp)
string(JSON budget GET "${jp}" logit_error_budget_ulps)
string(JSON failures GET "${jp}" failures)
if(budget LESS 1000 OR NOT failures EQUAL 0)
  message(FATAL_ERROR "--trunc prob report: budget ${budget} ulp (expected one per truncated element), failures ${failures}")
endif()
