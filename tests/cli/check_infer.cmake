# CLI test of `polympc infer` (called by CTest with -DPOLYMPC=... -DMODEL=... -DOUT=...):
# runs a private inference of 20 real Fashion-MNIST images on the shipped model and checks
# the JSON report has every key the README promises, agreement 1.0, and that sim and cpu
# give the same 2PC accuracy and bytes; then checks that asking for more images than the
# test set has is a one-line error with a non-zero exit.
foreach(backend cpu sim)
  execute_process(COMMAND ${POLYMPC} infer --model ${MODEL} --images 20 --batch 10 --backend ${backend}
                          --quiet --json ${OUT}.${backend}.json
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "polympc infer --backend ${backend} failed (${rc}):\n${out}\n${err}")
  endif()
  file(READ ${OUT}.${backend}.json j)
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
  string(JSON bytes_${backend} GET "${j}" online_bytes)
endforeach()
if(NOT acc_cpu EQUAL acc_sim OR NOT bytes_cpu EQUAL bytes_sim)
  message(FATAL_ERROR "cpu and sim differ: accuracy ${acc_cpu} vs ${acc_sim}, bytes ${bytes_cpu} vs ${bytes_sim}")
endif()

execute_process(COMMAND ${POLYMPC} infer --model ${MODEL} --images 10001 --quiet
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "asked for 10001 images")
  message(FATAL_ERROR "expected a clear error for 10001 images, got rc=${rc}: ${err}")
endif()
execute_process(COMMAND ${POLYMPC} infer --model ${CMAKE_CURRENT_LIST_DIR}/../data/unsupported_leakyrelu.onnx
                        --images 1 --quiet
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "LeakyRelu")
  message(FATAL_ERROR "expected an error naming the unsupported node, got rc=${rc}: ${err}")
endif()
message(STATUS "polympc infer CLI: ok (accuracy on 20 images ${acc_cpu})")
