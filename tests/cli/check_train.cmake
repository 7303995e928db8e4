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
# The plot's data: index 0 has every model, index 1 (after two blank lines) the Pareto
# front alone, one point per `pareto` 1 of the CSV, by increasing latency (index 2: the
# front by DReLUs).
set(n_front 0)
foreach(row ${rows})
  if(row MATCHES ",1$")
    math(EXPR n_front "${n_front} + 1")
  endif()
endforeach()
file(READ ${OUT}/sweep.dat dat)
string(FIND "${dat}" "\n\n\n" at)
if(at EQUAL -1 OR n_front EQUAL 0)
  message(FATAL_ERROR "sweep.dat has no Pareto block (or sweep.csv no Pareto model: ${n_front}):\n${dat}")
endif()
math(EXPR at "${at} + 3")
string(SUBSTRING "${dat}" ${at} -1 front_block)
string(FIND "${front_block}" "\n\n\n" end)  # index 2, the front by DReLUs, follows
string(SUBSTRING "${front_block}" 0 ${end} front_block)
string(STRIP "${front_block}" front_block)
string(REPLACE "\n" ";" front_lines "${front_block}")
list(LENGTH front_lines n_lines)
set(prev -1)
foreach(line ${front_lines})
  string(REGEX MATCH "^[0-9.e+-]+" x "${line}")
  if(prev GREATER x)  # CMake compares these decimals as numbers (floating point)
    message(FATAL_ERROR "sweep.dat's Pareto block is not by increasing latency:\n${front_block}")
  endif()
  set(prev ${x})
endforeach()
if(NOT n_lines EQUAL n_front)
  message(FATAL_ERROR "sweep.dat's Pareto block has ${n_lines} points, sweep.csv ${n_front} Pareto models")
endif()
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

# Block-ReLU: the knapsack under two DReLU budgets from the shipped model, one epoch of
# fine-tuning each, every model in 2PC with agreement 1; the bad requests are clear errors.
polympc_expect_fail("block-relu without a budget" "needs --budget B" ${POLYMPC} train --method block-relu
                    --model ${MODEL} --out ${OUT}/br)
polympc_expect_fail("block-relu with a bad budget" "'x' is not a DReLU count" ${POLYMPC} train --method block-relu
                    --model ${MODEL} --budgets 100,x --out ${OUT}/br)
polympc_expect_fail("a latency budget below the least" "below the least the allocation reaches" ${POLYMPC} train
                    --method block-relu --model ${MODEL} --budget-ms 0.001 --calib-images 2 --out ${OUT}/br)
polympc_expect_fail("a budget for the search" "--budget and --budget-ms belong to --method block-relu" ${POLYMPC} train
                    --lambda 1 --budget 100 --out ${OUT}/br)
polympc_run_ok("train --method block-relu" ${POLYMPC} train --method block-relu --model ${MODEL} --budgets 200,1000
               --epochs 1 --train-limit 512 --test-limit 200 --eval-images 20 --calib-images 8 --threads 2
               --trunc slack --out ${OUT}/br)
file(STRINGS ${OUT}/br/sweep.csv br_rows)
list(LENGTH br_rows n)
if(NOT n EQUAL 3)
  message(FATAL_ERROR "the block-relu sweep.csv has ${n} lines, expected a header and 2 models")
endif()
set(num "[0-9.e+-]+")
foreach(budget 200 1000)
  set(found 0)
  foreach(row ${br_rows})
    # ...,agreement,lan,wan,J,cpu ms,online bytes,DReLUs,method,onnx,pareto
    if(row MATCHES "^block_relu_${budget},.*,1,${num},${num},${num},${num},${num},([0-9]+),block-relu,")
      set(found 1)
      if(CMAKE_MATCH_1 GREATER budget OR CMAKE_MATCH_1 LESS 1)
        message(FATAL_ERROR "block_relu_${budget} has ${CMAKE_MATCH_1} DReLUs per image")
      endif()
    endif()
  endforeach()
  if(NOT found)
    message(FATAL_ERROR "no block_relu_${budget} row with agreement 1 and the method:\n${br_rows}")
  endif()
endforeach()
# DeepReShape: the family's member for a budget, trained (one tiny epoch), has exactly that
# many DReLUs and runs in 2PC; a budget below the family is a clear error.
polympc_expect_fail("reshape below the family" "below the smallest DeepReShape member" ${POLYMPC} train
                    --method reshape --budgets 100 --out ${OUT}/rs)
polympc_run_ok("train --method reshape" ${POLYMPC} train --method reshape --budgets 500 --search-epochs 0 --epochs 1
               --train-limit 512 --test-limit 200 --eval-images 20 --threads 2 --trunc slack --out ${OUT}/rs)
file(STRINGS ${OUT}/rs/sweep.csv rs_rows)
list(GET rs_rows 1 rs_row)
if(NOT rs_row MATCHES "^reshape_500,,\"id,relu,relu\",\"avg,avg\",.*,1,${num},${num},${num},${num},${num},500,reshape,")
  message(FATAL_ERROR "the reshape run's row has not the hybrid member, 500 DReLUs and agreement 1: ${rs_row}")
endif()
# One report of the three runs: every model of each, the methods told apart, the fronts for both axes.
polympc_run_ok("train --report" ${POLYMPC} train --report ${OUT},${OUT}/br,${OUT}/rs --out ${OUT}/both)
file(STRINGS ${OUT}/both/sweep.csv both_rows)
list(LENGTH both_rows n)
set(methods "")
foreach(row ${both_rows})
  if(row MATCHES ",(pasnet|block-relu|reshape|reference),[^,]*,[01]$")
    list(APPEND methods ${CMAKE_MATCH_1})
  endif()
endforeach()
list(SORT methods)
if(NOT n EQUAL 8 OR NOT methods STREQUAL "block-relu;block-relu;pasnet;pasnet;reference;reference;reshape")
  message(FATAL_ERROR "the joint report has ${n} lines and methods '${methods}':\n${both_rows}")
endif()
file(READ ${OUT}/both/sweep.dat dat)
string(REGEX MATCHALL "\n\n\n" blocks "${dat}")
list(LENGTH blocks nb)
if(NOT nb EQUAL 2)
  message(FATAL_ERROR "the joint sweep.dat has not 3 blocks (every model, the front by latency, by DReLUs):\n${dat}")
endif()
polympc_expect_fail("a report of a missing run" "cannot read" ${POLYMPC} train --report ${OUT}/nothing-here
                    --out ${OUT}/both2)
