# CLI test of `polympc block-relu` (called by CTest with -DPOLYMPC=... -DMODEL=... -DOUT=...):
# allocates Block-ReLU patches for the shipped model at 10 % of its DReLUs from 8
# calibration images, checks the printed DReLU count is within the budget and the file has
# the metadata; then `polympc infer` runs the written model with agreement 1.0; then a budget
# and a budget fraction together, and a negative budget, are one-line errors.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
set(onnx ${OUT}.onnx)
file(REMOVE ${onnx})
polympc_run_out(out "polympc block-relu" ${POLYMPC} block-relu --model ${MODEL} --budget-fraction 0.1
                --calib-images 8 --batch 4 --test-images 200 --out ${onnx})
if(NOT out MATCHES "DReLUs per image: ([0-9]+) of the model's ([0-9]+) [^,]*, budget ([0-9]+); all-ReLU ([0-9]+)")
  message(FATAL_ERROR "no DReLU summary printed:\n${out}")
endif()
set(drelus ${CMAKE_MATCH_1})
set(all ${CMAKE_MATCH_2})
set(budget ${CMAKE_MATCH_3})
set(all_relu ${CMAKE_MATCH_4})
math(EXPR want "${all} / 10")
if(NOT budget EQUAL want OR drelus GREATER budget OR all EQUAL 0 OR all_relu LESS all)
  message(FATAL_ERROR "DReLUs ${drelus} of ${all}, budget ${budget} (expected ${want}):\n${out}")
endif()
if(NOT out MATCHES "float test accuracy \\(200 images\\): before [0-9.]+ %, after [0-9.]+ %")
  message(FATAL_ERROR "no accuracy line:\n${out}")
endif()
file(STRINGS ${onnx} meta REGEX "polympc\\.(method|drelus|budget|patches\\.)")
foreach(key method drelus_model drelus_all_relu drelus budget patches)
  if(NOT meta MATCHES "polympc\\.${key}")
    message(FATAL_ERROR "${onnx} lacks the metadata key polympc.${key}: ${meta}")
  endif()
endforeach()

polympc_infer_json(j "polympc infer on the Block-ReLU model" ${OUT}.infer.json
                   --model ${onnx} --images 10 --batch 5)
string(JSON agreement GET "${j}" agreement)
string(JSON err_max GET "${j}" max_logit_error)
if(NOT agreement EQUAL 1 OR NOT err_max EQUAL 0)
  message(FATAL_ERROR "Block-ReLU model in 2PC: agreement ${agreement}, max_logit_error ${err_max}")
endif()

polympc_expect_fail("--budget with --budget-fraction" "excludes"
                    ${POLYMPC} block-relu --model ${MODEL} --budget 10 --budget-fraction 0.1 --out ${onnx})
polympc_expect_fail("a negative budget" "budget"
                    ${POLYMPC} block-relu --model ${MODEL} --budget -5 --out ${onnx})
