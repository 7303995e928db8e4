# CLI test of the deployment path (docs/protocols.md "Deployment"): the server exports the
# architecture file; the dealer and the client use only that file; server and client run
# as two processes over TCP loopback (execute_process runs both COMMANDs at once), each
# with its own ledger. The client's logits must equal the one-process run's; a second run,
# even on files restored from a copy, is refused; a chosen seed, a dealer or client given
# the model, and a mismatched pair of files are refused with clear errors.
string(RANDOM LENGTH 4 ALPHABET 0123456789 r)
math(EXPR port "30000 + ${r}")
file(REMOVE_RECURSE ${OUT}.d)
file(MAKE_DIRECTORY ${OUT}.d)
set(D ${OUT}.d)
set(common --images 6 --port ${port} --quiet --timeout 60000)

include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

# The client's report (JSON) must hold the one-process run's logits.
function(expect_one_process_logits what client_json one_json)
  file(READ ${client_json} j)
  file(READ ${one_json} one)
  string(JSON logits2 GET "${j}" logits)
  string(JSON logits1 GET "${one}" logits)
  if(NOT logits1 STREQUAL logits2)
    message(FATAL_ERROR "${what}: two-process logits differ from the one-process run's:\n${logits2}\nvs\n${logits1}")
  endif()
endfunction()

polympc_run_ok("export-arch" ${POLYMPC} export-arch --model ${MODEL} --out ${D}/arch.json)
file(READ ${D}/arch.json arch)
if(arch MATCHES "\"weight\"[ ]*:")
  message(FATAL_ERROR "the architecture file holds weights")
endif()

polympc_expect_fail("dealer --seed" "refused" ${POLYMPC} dealer --arch ${D}/arch.json --seed 5 --p0 ${D}/x0 --p1 ${D}/x1)
polympc_expect_fail("dealer --model" "must not read the model" ${POLYMPC} dealer --model ${MODEL} --p0 ${D}/x0 --p1 ${D}/x1)
polympc_run_ok("dealer" ${POLYMPC} dealer --arch ${D}/arch.json --images 6 --batch 3 --p0 ${D}/p0.mat --p1 ${D}/p1.mat)
polympc_run_ok("dealer (second run)" ${POLYMPC} dealer --arch ${D}/arch.json --images 6 --batch 3 --p0 ${D}/q0.mat
       --p1 ${D}/q1.mat)
file(COPY_FILE ${D}/p0.mat ${D}/p0.copy)
file(COPY_FILE ${D}/p1.mat ${D}/p1.copy)

polympc_expect_fail("client --model" "must not read the server's model" ${POLYMPC} infer --role client --model ${MODEL}
            --material ${D}/p1.mat ${common} --ledger ${D}/ledger1)

# The one-process run of the same images.
polympc_run_ok("infer (one process)" ${POLYMPC} infer --model ${MODEL} --images 6 --batch 3 --quiet --json ${D}/one.json)

polympc_two_parties(run SERVER --model ${MODEL} --material ${D}/p0.mat ${common} --ledger ${D}/ledger0
                    CLIENT --arch ${D}/arch.json --material ${D}/p1.mat ${common} --ledger ${D}/ledger1
                           --json ${D}/client.json)
if(NOT run_rcs STREQUAL "0;0")
  message(FATAL_ERROR "two-process run failed (${run_rcs}):\n${run_out}\n${run_err}")
endif()
file(READ ${D}/client.json j)
string(JSON acc GET "${j}" accuracy)
string(JSON npred LENGTH "${j}" predictions)
if(NOT npred EQUAL 6)
  message(FATAL_ERROR "client report has ${npred} predictions")
endif()
expect_one_process_logits("shipped model" ${D}/client.json ${D}/one.json)

# A second run on the same material, also after restoring the files from a copy.
polympc_expect_fail("second run" "already consumed" ${POLYMPC} infer --role client --arch ${D}/arch.json
            --material ${D}/p1.mat ${common} --ledger ${D}/ledger1)
file(COPY_FILE ${D}/p0.copy ${D}/p0.mat)
file(COPY_FILE ${D}/p1.copy ${D}/p1.mat)
polympc_expect_fail("restored copy (client)" "already consumed" ${POLYMPC} infer --role client --arch ${D}/arch.json
            --material ${D}/p1.mat ${common} --ledger ${D}/ledger1)
polympc_expect_fail("restored copy (server)" "already consumed" ${POLYMPC} infer --role server --model ${MODEL}
            --material ${D}/p0.mat ${common} --ledger ${D}/ledger0)

# A mismatched pair: the server's file from one dealer run, the client's from another.
math(EXPR port2 "${port} + 1")
polympc_two_parties(pair SERVER --model ${MODEL} --material ${D}/q0.mat --images 6 --port ${port2} --quiet
                            --timeout 60000 --ledger ${D}/ledger0
                     CLIENT --arch ${D}/arch.json --material ${D}/p1.copy --images 6 --port ${port2} --quiet
                            --timeout 60000 --ledger ${D}/ledger-other)
if(pair_rcs STREQUAL "0;0" OR NOT pair_err MATCHES "mismatched preprocessing files")
  message(FATAL_ERROR "a mismatched pair must be refused (${pair_rcs}):\n${pair_out}\n${pair_err}")
endif()

# A model made for its own fixed point (the shipped QAT model: l = 34, f = 6 in its ONNX
# metadata): the architecture file carries it, so the dealer, the server and the client run
# at it without --bits / --frac, and the logits equal the one-process run's.
get_filename_component(models ${MODEL} DIRECTORY)
set(QAT ${models}/fmnist_pasnet_lambda0_qat.onnx)
polympc_run_ok("export-arch (qat)" ${POLYMPC} export-arch --model ${QAT} --out ${D}/qat.json)
file(READ ${D}/qat.json qat_arch)
string(JSON qat_frac GET "${qat_arch}" fixed_point frac)
if(NOT qat_frac EQUAL 6)
  message(FATAL_ERROR "the QAT model's architecture file records f = '${qat_frac}', not 6")
endif()
polympc_run_ok("dealer (qat)" ${POLYMPC} dealer --arch ${D}/qat.json --images 6 --batch 3 --p0 ${D}/qat0.mat
               --p1 ${D}/qat1.mat)
polympc_run_ok("infer (qat, one process)" ${POLYMPC} infer --model ${QAT} --images 6 --batch 3 --quiet
               --json ${D}/qat_one.json)
math(EXPR port3 "${port} + 2")
polympc_two_parties(qat SERVER --model ${QAT} --material ${D}/qat0.mat --images 6 --port ${port3} --quiet
                           --timeout 60000 --ledger ${D}/ledger0
                    CLIENT --arch ${D}/qat.json --material ${D}/qat1.mat --images 6 --port ${port3} --quiet
                           --timeout 60000 --ledger ${D}/ledger1 --json ${D}/qat_client.json)
if(NOT qat_rcs STREQUAL "0;0")
  message(FATAL_ERROR "two-process run of the QAT model failed (${qat_rcs}):\n${qat_out}\n${qat_err}")
endif()
expect_one_process_logits("QAT model" ${D}/qat_client.json ${D}/qat_one.json)
# A dealer told another f than the model's deals material that both parties, at the
# model's f, refuse in the handshake.
polympc_run_ok("dealer (qat, --frac 5)" ${POLYMPC} dealer --arch ${D}/qat.json --images 6 --batch 3 --frac 5
               --p0 ${D}/qat0b.mat --p1 ${D}/qat1b.mat)
math(EXPR port4 "${port} + 3")
polympc_two_parties(qatf SERVER --model ${QAT} --material ${D}/qat0b.mat --images 6 --port ${port4} --quiet
                            --timeout 60000 --ledger ${D}/ledger0
                     CLIENT --arch ${D}/qat.json --material ${D}/qat1b.mat --images 6 --port ${port4} --quiet
                            --timeout 60000 --ledger ${D}/ledger1)
if(qatf_rcs STREQUAL "0;0" OR NOT qatf_err MATCHES "was dealt for \\[l=34 f=5 .*this run is \\[l=34 f=6 ")
  message(FATAL_ERROR "material dealt at another f must be refused (${qatf_rcs}):\n${qatf_out}\n${qatf_err}")
endif()

file(REMOVE_RECURSE ${D})
message(STATUS "two-process run: ok (client accuracy on 6 images ${acc}, logits equal the one-process run's)")
