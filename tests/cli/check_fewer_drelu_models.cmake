# CLI test of the shipped models of the three ways to fewer secure comparisons (issue 14,
# docs/training.md; models/README.md): called by CTest with -DPOLYMPC=... -DMODEL=<models/
# fmnist_cnn.onnx> -DOUT=... For the best model of each method at <= 10 % of the all-ReLU
# CNN's DReLUs - models/fmnist_pasnet_lambda0.001.onnx (latency-aware search),
# models/fmnist_block_relu_*.onnx (Block-ReLU knapsack + fine-tuning) and
# models/fmnist_reshape_*.onnx (DeepReShape) - it checks:
#  - a row in models/README.md and the method's metadata;
#  - DReLUs per image, as `polympc perf` counts them, <= 10 % of the all-ReLU CNN's (the
#    shipped CNN priced with every activation a ReLU, `--acts relu`);
#  - `polympc infer` (2PC, FSS comparison, slack truncation) on 200 real test images:
#    logits bit-identical to the plaintext twin, agreement 1.0, and 2PC accuracy within
#    0.5 points of the float accuracy on the same images.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
get_filename_component(models_dir ${MODEL} DIRECTORY)
file(READ ${models_dir}/README.md readme)

function(perf_drelus var what)
  polympc_run_ok("${what}" ${POLYMPC} perf ${ARGN} --compare fss --trunc slack --json ${OUT}.perf.json)
  file(READ ${OUT}.perf.json j)
  string(JSON d GET "${j}" total drelus)
  set(${var} ${d} PARENT_SCOPE)
endfunction()
perf_drelus(all_relu "perf of the all-ReLU CNN" --model ${MODEL} --acts relu)
math(EXPR limit "${all_relu} / 10")
if(NOT all_relu EQUAL 11392)
  message(FATAL_ERROR "the all-ReLU CNN has ${all_relu} DReLUs per image, docs and README say 11,392")
endif()

# `var` = the fraction `v` (a JSON number in [0, 1], e.g. 0.865) of `n` images, rounded.
function(images_of var v n)
  if(v MATCHES "^1(\\.0*)?$")
    set(${var} ${n} PARENT_SCOPE)
  elseif(v MATCHES "^0?(\\.([0-9]*))?$")
    string(SUBSTRING "${CMAKE_MATCH_2}000000" 0 6 micro)
    math(EXPR k "(1${micro} - 1000000) * ${n}")
    math(EXPR k "(${k} + 500000) / 1000000")
    set(${var} ${k} PARENT_SCOPE)
  else()
    message(FATAL_ERROR "not an accuracy in [0, 1]: ${v}")
  endif()
endfunction()

file(GLOB block ${models_dir}/fmnist_block_relu_*.onnx)
file(GLOB reshape ${models_dir}/fmnist_reshape_*.onnx)
foreach(kind block reshape)
  list(LENGTH ${kind} n)
  if(n LESS 1)
    message(FATAL_ERROR "no shipped model models/fmnist_${kind}*.onnx")
  endif()
endforeach()
foreach(m ${models_dir}/fmnist_pasnet_lambda0.001.onnx ${block} ${reshape})
  get_filename_component(name ${m} NAME)
  string(FIND "${readme}" "${name}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "models/README.md has no row for ${name}")
  endif()
  perf_drelus(d "perf --model ${name}" --model ${m})
  if(d GREATER limit)
    message(FATAL_ERROR "${name}: ${d} DReLUs per image, more than 10 % of all-ReLU (${limit})")
  endif()
  polympc_infer_json(j "polympc infer --model ${name}" ${OUT}.${name}.json
                     --model ${m} --images 200 --batch 100 --backend cpu --compare fss --trunc slack)
  set(keys float_accuracy dataset)
  if(name MATCHES "block_relu")
    list(APPEND keys method budget drelus finetune_epochs patches.act1)
  elseif(name MATCHES "reshape")
    list(APPEND keys method budget drelus widths acts pools arch)
  else()
    list(APPEND keys search lambda acts pools arch)
  endif()
  foreach(key ${keys})
    string(JSON v ERROR_VARIABLE e GET "${j}" model_metadata polympc.${key})
    if(e OR v STREQUAL "")
      message(FATAL_ERROR "${name}: metadata lacks polympc.${key}")
    endif()
  endforeach()
  string(JSON same GET "${j}" logits_bit_identical)
  string(JSON agreement GET "${j}" agreement)
  string(JSON acc GET "${j}" accuracy)
  string(JSON facc GET "${j}" float_accuracy)
  # Accuracies are fractions of the 200 images: compare whole images (0.5 points = 1 image).
  images_of(acc_img ${acc} 200)
  images_of(facc_img ${facc} 200)
  math(EXPR diff "${acc_img} - ${facc_img}")
  if(NOT same EQUAL 200 OR NOT agreement EQUAL 1 OR diff GREATER 1 OR diff LESS -1)
    message(FATAL_ERROR "${name}: logits_bit_identical=${same} agreement=${agreement} 2PC ${acc} float ${facc}")
  endif()
endforeach()
