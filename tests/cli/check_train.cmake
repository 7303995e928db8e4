# CLI test of `polympc train` (apps/train_cmd.cpp; docs/training.md). With LibTorch
# (TORCH=ON): a tiny sweep of two lambdas plus the references writes one ONNX, one CSV
# per run and the sweep report, every model runs in 2PC with agreement 1, and the ONNX
# metadata names the choices; a residual network (resnet8) is searched, exported and run
# by `polympc infer`, bit-identical to its twin. Without LibTorch: a clear error saying how to get it.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
file(REMOVE_RECURSE ${OUT})
if(NOT TORCH)
  polympc_expect_fail("train without LibTorch" "built without LibTorch.*POLYMPC_WITH_TORCH=ON"
                      ${POLYMPC} train --lambda 0.1)
  return()
endif()
polympc_expect_fail("train with neither --lambda nor --sweep" "--lambda L or --sweep" ${POLYMPC} train --out ${OUT})
polympc_expect_fail("train with a bad lambda" "not a lambda" ${POLYMPC} train --sweep 0.1,x --out ${OUT})
polympc_run_ok("train --sweep" ${POLYMPC} train --sweep 0,20 --search-epochs 1 --epochs 1 --train-limit 512
               --test-limit 200 --eval-images 40 --threads 2 --alpha-lr 0.05 --trunc slack --out ${OUT})
foreach(f lambda_0.onnx lambda_0.csv lambda_20.onnx lambda_20.csv all-relu.onnx all-poly.onnx sweep.csv sweep.md sweep.gp)
  if(NOT EXISTS ${OUT}/${f})
    message(FATAL_ERROR "train --sweep did not write ${f}")
  endif()
endforeach()
file(STRINGS ${OUT}/sweep.csv rows)
list(LENGTH rows n)
if(NOT n EQUAL 5)
  message(FATAL_ERROR "sweep.csv has ${n} lines, expected a header and 4 models")
endif()
foreach(row ${rows})
  if(row MATCHES "^lambda|^all" AND NOT row MATCHES ",1,[0-9.e+-]+,[0-9.e+-]+,[0-9.e+-]+,[0-9.e+-]+,[0-9.e+-]+,")
    message(FATAL_ERROR "a model of the sweep does not have 2PC agreement 1: ${row}")
  endif()
endforeach()
file(STRINGS ${OUT}/lambda_0.csv epochs)
list(LENGTH epochs ne)
if(NOT ne EQUAL 3)
  message(FATAL_ERROR "lambda_0.csv has ${ne} lines, expected a header, one search and one fine-tune epoch")
endif()
# The residual architecture: searched, exported, then run by `polympc infer` in 2PC.
polympc_expect_fail("train an unknown arch" "unknown architecture 'vgg'" ${POLYMPC} train --arch vgg --lambda 1
                    --out ${OUT}/bad)
polympc_expect_fail("train on a missing CIFAR-10 directory" "CIFAR-10 file not found" ${POLYMPC} train
                    --arch resnet8 --cifar10 ${OUT}/no-such-dir --lambda 1 --out ${OUT}/bad)
polympc_run_ok("train --arch resnet8" ${POLYMPC} train --arch resnet8 --lambda 0.05 --search-epochs 1 --epochs 1
               --train-limit 256 --test-limit 100 --eval-images 8 --threads 2 --trunc slack --out ${OUT}/r8)
file(STRINGS ${OUT}/r8/sweep.csv r8rows)
list(GET r8rows 1 r8row)
set(act "(relu|poly)")  # CMake regexes have no {n}: seven sites spelled out
if(NOT r8row MATCHES "^lambda_0.05,0.050000,\"${act},${act},${act},${act},${act},${act},${act}\",\"\",[0-9.e+-]+,[0-9.e+-]+,[0-9.e+-]+,1,")
  message(FATAL_ERROR "resnet8's row has not 7 activation choices and agreement 1: ${r8row}")
endif()
polympc_infer_json(j "infer the resnet8" ${OUT}/r8/infer.json --model ${OUT}/r8/lambda_0.05.onnx --images 8
                   --batch 4 --trunc slack)
string(JSON same GET "${j}" logits_bit_identical)
if(NOT same EQUAL 8)
  message(FATAL_ERROR "infer of the resnet8: ${same} of 8 images bit-identical to the twin:\n${j}")
endif()
