# CLI test of `polympc infer` (called by CTest with -DPOLYMPC=... -DMODEL=... -DOUT=...):
# runs a private inference of 20 real Fashion-MNIST images on the shipped model and checks
# the JSON report has every key the README promises, agreement 1.0, and that sim and cpu
# give the same 2PC accuracy and bytes; that --reveal label gives the same predictions with
# the logit comparisons null; then checks that asking for more images than the test set has
# is a one-line error with a non-zero exit.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
foreach(backend cpu sim)
  polympc_infer_json(j "polympc infer --backend ${backend}" ${OUT}.${backend}.json
                     --model ${MODEL} --images 20 --batch 10 --backend ${backend})
  foreach(key images accuracy plaintext_accuracy float_accuracy agreement max_logit_error online_bytes
              rounds seconds layers)
    string(JSON v ERROR_VARIABLE e GET "${j}" ${key})
    if(e)
      message(FATAL_ERROR "JSON report lacks '${key}': ${e}")
    endif()
  endforeach()
  string(JSON images GET "${j}" images)
  string(JSON agreement GET "${j}" agreement)
  string(JSON err_max GET "${j}" max_logit_error)
  string(JSON nlayers LENGTH "${j}" layers)
  string(JSON l0name GET "${j}" layers 0 name)
  foreach(k name op rounds bytes seconds)
    string(JSON v ERROR_VARIABLE e GET "${j}" layers 0 ${k})
    if(e)
      message(FATAL_ERROR "layer entry lacks '${k}'")
    endif()
  endforeach()
  if(NOT images EQUAL 20 OR NOT agreement EQUAL 1 OR NOT err_max EQUAL 0 OR nlayers LESS 4)
    message(FATAL_ERROR "unexpected report (${backend}): images=${images} agreement=${agreement} "
                        "max_logit_error=${err_max} layers=${nlayers}")
  endif()
  string(JSON acc_${backend} GET "${j}" accuracy)
  set(j_${backend} "${j}")
  math(EXPR nlayers_last_${backend} "${nlayers} - 1")
  string(JSON bytes_${backend} GET "${j}" online_bytes)
endforeach()
if(NOT acc_cpu EQUAL acc_sim OR NOT bytes_cpu EQUAL bytes_sim)
  message(FATAL_ERROR "cpu and sim differ: accuracy ${acc_cpu} vs ${acc_sim}, bytes ${bytes_cpu} vs ${bytes_sim}")
endif()

# --reveal label: the client learns only the top-1 classes (secure argmax). Same images, so
# the same accuracy and predictions as the logits run; the logit comparisons are null; the
# "output" phase has the argmax's rounds on top of the reveal's one.
string(JSON out_rounds_logits GET "${j_cpu}" layers ${nlayers_last_cpu} rounds)
string(JSON pred_logits GET "${j_cpu}" predictions)
polympc_infer_json(jl "polympc infer --reveal label" ${OUT}.label.json
                   --model ${MODEL} --images 20 --batch 10 --backend cpu --reveal label)
string(JSON reveal GET "${jl}" reveal)
string(JSON acc_label GET "${jl}" accuracy)
string(JSON agreement_label GET "${jl}" agreement)
string(JSON err_type TYPE "${jl}" max_logit_error)
string(JSON ident_type TYPE "${jl}" logits_bit_identical)
string(JSON pred_label GET "${jl}" predictions)
string(JSON npred LENGTH "${jl}" predictions)
string(JSON nl LENGTH "${jl}" layers)
math(EXPR last "${nl} - 1")
string(JSON last_name GET "${jl}" layers ${last} name)
string(JSON out_rounds_label GET "${jl}" layers ${last} rounds)
if(NOT reveal STREQUAL "label" OR NOT acc_label EQUAL acc_cpu OR NOT agreement_label EQUAL 1 OR
   NOT err_type STREQUAL "NULL" OR NOT ident_type STREQUAL "NULL" OR NOT npred EQUAL 20 OR
   NOT pred_label STREQUAL pred_logits OR NOT last_name STREQUAL "output" OR
   NOT out_rounds_label GREATER out_rounds_logits)
  message(FATAL_ERROR "unexpected --reveal label report: reveal=${reveal} accuracy=${acc_label} (logits run "
                      "${acc_cpu}) agreement=${agreement_label} max_logit_error is ${err_type} "
                      "logits_bit_identical is ${ident_type} predictions=${pred_label} (logits run ${pred_logits}) "
                      "last phase ${last_name} rounds ${out_rounds_label} (logits run ${out_rounds_logits})")
endif()
polympc_expect_fail("--reveal scores" "choose logits or label"
                    ${POLYMPC} infer --model ${MODEL} --images 1 --reveal scores --quiet)

# The defaults are --trunc fss --compare fss (SIGMA's FSS truncation, exact under its
# bound): against the GMW-exact truncation and GMW comparison (the former defaults) the same
# predictions, agreement 1.0, the twin's logits bit for bit, and fewer bytes; --trunc fss is
# refused with a clear error where the ring leaves too little headroom (l < 2f + 14).
string(JSON trunc_default GET "${j_cpu}" trunc)
polympc_infer_json(jf "polympc infer --trunc exact --compare gmw" ${OUT}.exact.json
                   --model ${MODEL} --images 20 --batch 10 --backend cpu --trunc exact
                   --compare gmw)
string(JSON trunc_exact GET "${jf}" trunc)
string(JSON agreement_exact GET "${jf}" agreement)
string(JSON ident_exact GET "${jf}" logits_bit_identical)
string(JSON bytes_exact GET "${jf}" online_bytes)
string(JSON pred_exact GET "${jf}" predictions)
if(NOT trunc_default STREQUAL "fss" OR NOT trunc_exact STREQUAL "exact" OR
   NOT agreement_exact EQUAL 1 OR NOT ident_exact EQUAL 20 OR
   NOT pred_exact STREQUAL pred_logits OR NOT bytes_cpu LESS bytes_exact)
  message(FATAL_ERROR "unexpected defaults vs --trunc exact: default trunc=${trunc_default} "
                      "bytes=${bytes_cpu}; exact: trunc=${trunc_exact} agreement=${agreement_exact} "
                      "logits_bit_identical=${ident_exact} bytes=${bytes_exact}")
endif()
polympc_expect_fail("--trunc fss --bits 32" "--bits >= 38"
                    ${POLYMPC} infer --model ${MODEL} --images 1 --trunc fss --bits 32 --quiet)
polympc_expect_fail("--trunc slack --bits 32" "--bits >= 38"
                    ${POLYMPC} infer --model ${MODEL} --images 1 --trunc slack --bits 32 --quiet)
# --trunc slack (GMW carries with the FSS bound): agreement 1.0, the twin's logits bit for
# bit, the same predictions, and less dealer material than the default.
polympc_infer_json(js "polympc infer --trunc slack" ${OUT}.slack.json
                   --model ${MODEL} --images 20 --batch 10 --backend cpu --trunc slack)
string(JSON trunc_slack GET "${js}" trunc)
string(JSON agreement_slack GET "${js}" agreement)
string(JSON ident_slack GET "${js}" logits_bit_identical)
string(JSON pred_slack GET "${js}" predictions)
string(JSON offline_slack GET "${js}" offline_bytes_per_image)
string(JSON offline_default GET "${j_cpu}" offline_bytes_per_image)
if(NOT trunc_slack STREQUAL "slack" OR NOT agreement_slack EQUAL 1 OR NOT ident_slack EQUAL 20 OR
   NOT pred_slack STREQUAL pred_logits OR NOT offline_slack LESS offline_default)
  message(FATAL_ERROR "unexpected --trunc slack: trunc=${trunc_slack} agreement=${agreement_slack} "
                      "logits_bit_identical=${ident_slack} offline=${offline_slack} (default ${offline_default})")
endif()

polympc_expect_fail("10001 images" "asked for 10001 images"
                    ${POLYMPC} infer --model ${MODEL} --images 10001 --quiet)
polympc_expect_fail("unsupported node" "LeakyRelu" ${POLYMPC} infer --model
                    ${CMAKE_CURRENT_LIST_DIR}/../data/unsupported_leakyrelu.onnx --images 1 --quiet)
message(STATUS "polympc infer CLI: ok (accuracy on 20 images ${acc_cpu})")
