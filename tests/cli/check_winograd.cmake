# CLI test of Winograd convolution (docs/winograd.md) on the shipped ResNet-8
# (models/fmnist_resnet8.onnx: five 3x3 stride-1 convolutions):
#  - in one process, --winograd 2 and 4 put the five convs in Winograd form and the 2PC
#    logits equal the fixed-point twin's bit for bit; F(2x2) gives the direct form's logits;
#  - --plaintext-only reports the twins' accuracy without a 2PC run;
#  - two processes: export-arch --winograd writes the forms into the architecture file, the
#    dealer and the client read them from it, the server states them with --winograd; the
#    client's logits equal the one-process run's; a server without the forms is refused at
#    the handshake (another model hash); the client refuses --winograd.
get_filename_component(models_dir ${MODEL} DIRECTORY)
set(M ${models_dir}/fmnist_resnet8.onnx)
file(REMOVE_RECURSE ${OUT}.d)
file(MAKE_DIRECTORY ${OUT}.d)
set(D ${OUT}.d)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

polympc_infer_json(direct "infer (direct)" ${D}/direct.json --model ${M} --images 3 --batch 3)
foreach(m 2 4)
  polympc_infer_json(j "infer --winograd ${m}" ${D}/w${m}.json --model ${M} --images 3 --batch 3 --winograd ${m})
  string(JSON same GET "${j}" logits_bit_identical)
  if(NOT same EQUAL 3)
    message(FATAL_ERROR "--winograd ${m}: ${same}/3 images bit-identical to the twin")
  endif()
  string(JSON agree GET "${j}" agreement)
  if(NOT agree EQUAL 1)
    message(FATAL_ERROR "--winograd ${m}: agreement ${agree}")
  endif()
  set(logits${m} "")
  string(JSON logits${m} GET "${j}" logits)
endforeach()
string(JSON logits_direct GET "${direct}" logits)
if(NOT logits2 STREQUAL logits_direct)
  message(FATAL_ERROR "F(2x2) must give the direct form's logits:\n${logits2}\nvs\n${logits_direct}")
endif()
polympc_run_out(out "infer --winograd 4 (explain)" ${POLYMPC} infer --model ${M} --winograd 4 --quiet --images 1 --plaintext-only)
if(NOT out MATCHES "winograd 4 \\(5 layers\\)")
  message(FATAL_ERROR "--winograd 4 should put the five 3x3 stride-1 convs in Winograd form:\n${out}")
endif()

# --plaintext-only: the twins on 20 images, no 2PC.
polympc_run_ok("infer --plaintext-only" ${POLYMPC} infer --model ${M} --images 20 --plaintext-only --winograd 4
               --json ${D}/plain.json)
file(READ ${D}/plain.json p)
string(JSON acc GET "${p}" plaintext_accuracy)
string(JSON facc GET "${p}" float_accuracy)
string(JSON only GET "${p}" plaintext_only)
if(NOT only STREQUAL "ON" AND NOT only STREQUAL "true")
  message(FATAL_ERROR "--plaintext-only report: ${p}")
endif()
if(acc LESS 0.5 OR facc LESS 0.5)
  message(FATAL_ERROR "--plaintext-only: accuracy ${acc} / ${facc} on 20 images")
endif()

# Two processes with the forms in the architecture file.
string(RANDOM LENGTH 4 ALPHABET 0123456789 r)
math(EXPR port "30000 + ${r}")
set(common --images 3 --port ${port} --quiet --timeout 60000)
polympc_expect_fail("export-arch --winograd auto" "explicitly" ${POLYMPC} export-arch --model ${M} --winograd auto
                    --out ${D}/x.json)
polympc_run_ok("export-arch --winograd 4" ${POLYMPC} export-arch --model ${M} --winograd 4 --out ${D}/arch.json)
file(READ ${D}/arch.json arch)
string(REGEX MATCHALL "\"winograd\": 4" forms "${arch}")
list(LENGTH forms nforms)
if(NOT nforms EQUAL 5)
  message(FATAL_ERROR "the architecture file should carry 5 Winograd forms, has ${nforms}")
endif()
polympc_run_ok("dealer" ${POLYMPC} dealer --arch ${D}/arch.json --images 3 --batch 3 --p0 ${D}/p0.mat --p1 ${D}/p1.mat)
polympc_expect_fail("client --winograd" "takes no --winograd" ${POLYMPC} infer --role client --arch ${D}/arch.json
                    --material ${D}/p1.mat --winograd 4 ${common} --ledger ${D}/ledger1)
# A server without the forms holds another model (hash): refused before any material is used.
polympc_two_parties(direct SERVER --model ${M} --material ${D}/p0.mat ${common} --ledger ${D}/ledger0
                           CLIENT --arch ${D}/arch.json --material ${D}/p1.mat ${common} --ledger ${D}/ledger1)
if(direct_rcs STREQUAL "0;0" OR NOT direct_err MATCHES "model")
  message(FATAL_ERROR "a server without the Winograd forms must be refused (${direct_rcs}):\n${direct_out}\n${direct_err}")
endif()
math(EXPR port2 "${port} + 1")
set(common --images 3 --port ${port2} --quiet --timeout 60000)
polympc_two_parties(w4 SERVER --model ${M} --winograd 4 --material ${D}/p0.mat ${common} --ledger ${D}/ledger0
                       CLIENT --arch ${D}/arch.json --material ${D}/p1.mat ${common} --ledger ${D}/ledger1
                              --json ${D}/client.json)
if(NOT w4_rcs STREQUAL "0;0")
  message(FATAL_ERROR "two-process Winograd run failed (${w4_rcs}):\n${w4_out}\n${w4_err}")
endif()
file(READ ${D}/client.json c)
string(JSON logits_client GET "${c}" logits)
if(NOT logits_client STREQUAL logits4)
  message(FATAL_ERROR "two-process F(4x4) logits differ from the one-process run's:\n${logits_client}\nvs\n${logits4}")
endif()
file(REMOVE_RECURSE ${D})
