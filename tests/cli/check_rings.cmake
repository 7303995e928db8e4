# CLI test of per-layer rings (issue 13; docs/protocols.md "Per-layer rings in the
# executor", models/README.md): called by CTest with -DPOLYMPC=... -DMODEL=<models/
# fmnist_cnn.onnx> -DOUT=... It checks:
#  - the shipped models/fmnist_pasnet_lambda0_rings.onnx has a row in models/README.md and
#    carries its rings and fixed point in the ONNX metadata;
#  - `polympc infer` of it (its own l/f from the metadata) on 200 real test images: logits
#    bit-identical to the twin, agreement 1.0, and at least 3x fewer online bytes per image
#    than its source model at uniform l = 64, f = 12 on the same images;
#  - the same for models/fmnist_pasnet_lambda0_qat.onnx (per-layer scales, fine-tuned at
#    them, and its rings);
#  - the same model at --bits 64 --frac 12 is refused, naming the layer whose ring is too narrow;
#  - `polympc rings` on a few calibration images writes a model that `polympc infer` runs
#    bit-identical to its twin, with range rings only and with the per-layer scale search
#    (--scale-tolerance: the scales in the metadata), and under a byte budget: met, or
#    refused naming the fewest bytes reached.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
get_filename_component(models_dir ${MODEL} DIRECTORY)
set(rings ${models_dir}/fmnist_pasnet_lambda0_rings.onnx)
set(source ${models_dir}/fmnist_pasnet_lambda0.onnx)
file(READ ${models_dir}/README.md readme)
string(FIND "${readme}" "fmnist_pasnet_lambda0_rings.onnx" at)
if(at EQUAL -1)
  message(FATAL_ERROR "models/README.md has no row for fmnist_pasnet_lambda0_rings.onnx")
endif()

polympc_infer_json(low "infer of the rings model" ${OUT}.rings.json --model ${rings} --images 200 --batch 100)
polympc_infer_json(wide "infer of its source at l=64" ${OUT}.wide.json --model ${source} --images 200 --batch 100)
string(JSON meta GET "${low}" model_metadata polympc.ring_bits)
if(NOT meta MATCHES "conv1=[0-9]+")
  message(FATAL_ERROR "no per-layer rings in the metadata: '${meta}'")
endif()
string(JSON l GET "${low}" ring_bits)
string(JSON f GET "${low}" frac_bits)
string(JSON equal GET "${low}" logits_bit_identical)
string(JSON agree GET "${low}" agreement)
string(JSON low_bytes GET "${low}" online_bytes)
string(JSON wide_bytes GET "${wide}" online_bytes)
string(JSON wide_l GET "${wide}" ring_bits)
if(NOT equal EQUAL 200 OR NOT agree MATCHES "^1(\\.0*)?$")
  message(FATAL_ERROR "rings model: ${equal}/200 logits bit-identical, agreement ${agree}")
endif()
if(NOT l EQUAL 34 OR NOT f EQUAL 6)
  message(FATAL_ERROR "the rings model ran at l=${l} f=${f}, not its metadata's 34 and 6")
endif()
if(NOT wide_l EQUAL 64)
  message(FATAL_ERROR "the source model ran at l=${wide_l}, not 64")
endif()
# online_bytes: per image, both parties (a JSON number, possibly fractional)
string(REGEX REPLACE "\\..*" "" low_i "${low_bytes}")
string(REGEX REPLACE "\\..*" "" wide_i "${wide_bytes}")
math(EXPR three "3 * ${low_i}")
if(three GREATER wide_i)
  message(FATAL_ERROR "rings model: ${low_bytes} online bytes per image (l=${l} f=${f}), source at l=64: ${wide_bytes}: less than 3x fewer")
endif()
message(STATUS "rings model l=${l} f=${f}: ${low_bytes} vs ${wide_bytes} online bytes per image")

set(qat ${models_dir}/fmnist_pasnet_lambda0_qat.onnx)
string(FIND "${readme}" "fmnist_pasnet_lambda0_qat.onnx" at)
if(at EQUAL -1)
  message(FATAL_ERROR "models/README.md has no row for fmnist_pasnet_lambda0_qat.onnx")
endif()
polympc_infer_json(q "infer of the QAT model" ${OUT}.qat.json --model ${qat} --images 200 --batch 100)
string(JSON equal GET "${q}" logits_bit_identical)
string(JSON q_bytes GET "${q}" online_bytes)
string(JSON q_scales GET "${q}" model_metadata polympc.frac_bits)
string(REGEX REPLACE "\\..*" "" q_i "${q_bytes}")
math(EXPR three "3 * ${q_i}")
if(NOT equal EQUAL 200 OR three GREATER wide_i OR NOT q_scales MATCHES "conv1=[0-9]+")
  message(FATAL_ERROR "QAT model: ${equal}/200 bit-identical, ${q_bytes} online bytes per image against ${wide_bytes}, "
                      "scales '${q_scales}'")
endif()
message(STATUS "QAT model: ${q_bytes} vs ${wide_bytes} online bytes per image, scales ${q_scales}")

polympc_expect_fail("the rings model at l=64 f=12" "layer '.*': (a ring of [0-9]+ bits cannot hold|the logits leave at scale)"
                    ${POLYMPC} infer --model ${rings} --bits 64 --frac 12 --images 8 --batch 8 --quiet)

# polympc perf reads the same metadata: the counted bytes are the run's.
polympc_run_ok("perf of the rings model" ${POLYMPC} perf --model ${rings} --no-sites --json ${OUT}.perf.json)
file(READ ${OUT}.perf.json pj)
string(JSON pl GET "${pj}" ring_bits)
if(NOT pl EQUAL 34)
  message(FATAL_ERROR "perf priced the rings model at l=${pl}, not its metadata's 34")
endif()

polympc_run_ok("polympc rings" ${POLYMPC} rings --model ${source} --out ${OUT}.new.onnx --calib-images 16 --test-images 0)
polympc_infer_json(new "infer of the new rings model" ${OUT}.new.json --model ${OUT}.new.onnx --images 20 --batch 10)
string(JSON equal GET "${new}" logits_bit_identical)
if(NOT equal EQUAL 20)
  message(FATAL_ERROR "new rings model: ${equal}/20 logits bit-identical")
endif()

polympc_run_ok("polympc rings --scale-tolerance" ${POLYMPC} rings --model ${source} --out ${OUT}.scaled.onnx
               --calib-images 16 --test-images 0 --scale-tolerance 10)
polympc_infer_json(scaled "infer of the scaled rings model" ${OUT}.scaled.json --model ${OUT}.scaled.onnx --images 20 --batch 10)
string(JSON equal GET "${scaled}" logits_bit_identical)
string(JSON fmeta ERROR_VARIABLE no_scales GET "${scaled}" model_metadata polympc.frac_bits)
if(NOT equal EQUAL 20 OR no_scales OR NOT fmeta MATCHES "=[0-9]+")
  message(FATAL_ERROR "scaled rings model: ${equal}/20 logits bit-identical, polympc.frac_bits '${fmeta}' ${no_scales}")
endif()

polympc_run_out(budget_out "polympc rings --byte-budget" ${POLYMPC} rings --model ${source} --out ${OUT}.budget.onnx
               --calib-images 16 --test-images 0 --byte-budget 140000)
if(NOT budget_out MATCHES "byte budget 140000: [0-9]+ online bytes per image at a tolerance of")
  message(FATAL_ERROR "no budget line in:\n${budget_out}")
endif()
polympc_expect_fail("an unreachable byte budget" "--byte-budget 1000: the fewest online bytes per image reached are [0-9]+"
                    ${POLYMPC} rings --model ${source} --out ${OUT}.nobudget.onnx --calib-images 16 --test-images 0
                    --byte-budget 1000)
