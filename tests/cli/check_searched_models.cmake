# CLI test of the searched models shipped in models/ (issue 11, docs/training.md): called by
# CTest with -DPOLYMPC=... -DMODEL=<models/fmnist_cnn.onnx> -DOUT=...
# Every models/fmnist_pasnet_*.onnx (at least three, on the Pareto front of a sweep) must
#  - be described by a row of models/README.md,
#  - carry the search's metadata (lambda, priced protocol, board, network, phase, choices,
#    float accuracy, modelled latency), and
#  - run in `polympc infer` (2PC, FSS ReLU, slack truncation, as searched) on 100 real test
#    images with logits bit-identical to the plaintext twin and agreement 1.0.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
get_filename_component(models_dir ${MODEL} DIRECTORY)
file(GLOB searched ${models_dir}/fmnist_pasnet_*.onnx)
list(LENGTH searched n)
if(n LESS 3)
  message(FATAL_ERROR "expected at least three searched models models/fmnist_pasnet_*.onnx, found ${n}")
endif()
file(READ ${models_dir}/README.md readme)

foreach(m IN LISTS searched)
  get_filename_component(name ${m} NAME)
  string(FIND "${readme}" "${name}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "models/README.md has no row for ${name}")
  endif()
  polympc_infer_json(j "polympc infer --model ${name}" ${OUT}.${name}.json
                     --model ${m} --images 100 --batch 50 --backend cpu --compare fss --trunc slack)
  foreach(key search lambda compare trunc board network phase acts pools float_accuracy
              modelled_latency_ms arch dataset)
    string(JSON v ERROR_VARIABLE e GET "${j}" model_metadata polympc.${key})
    if(e OR v STREQUAL "")
      message(FATAL_ERROR "${name}: metadata lacks polympc.${key}")
    endif()
  endforeach()
  string(JSON trunc GET "${j}" model_metadata polympc.trunc)
  string(JSON compare GET "${j}" model_metadata polympc.compare)
  if(NOT trunc STREQUAL "slack" OR NOT compare STREQUAL "fss")
    message(FATAL_ERROR "${name}: searched for compare=${compare} trunc=${trunc}, the test runs fss/slack")
  endif()
  string(JSON images GET "${j}" images)
  string(JSON same GET "${j}" logits_bit_identical)
  string(JSON agreement GET "${j}" agreement)
  if(NOT images EQUAL 100 OR NOT same EQUAL 100 OR NOT agreement EQUAL 1)
    message(FATAL_ERROR "${name}: images=${images} logits_bit_identical=${same} agreement=${agreement}")
  endif()
endforeach()
