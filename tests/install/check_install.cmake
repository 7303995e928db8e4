# CTest install_consumer (called with -DBIN=<build dir> -DSRC=<source dir> -DOUT=<work dir>
# -DCXX=<compiler>): `cmake --install` into a fresh prefix puts the CLI, libraries, headers,
# kernels' sources, models, data and docs in place; a separate project configures against
# the installed package with find_package(polympc), builds and runs (tests/install/consumer);
# the installed CLI runs the performance model on the installed model and data; `cpack`
# makes a .deb that holds the CLI and the package files.
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(last_out "${out}" PARENT_SCOPE)
endfunction()

set(P ${OUT}/prefix)
run("cmake --install" ${CMAKE_COMMAND} --install ${BIN} --prefix ${P})
foreach(f bin/polympc bin/polympc-make-test-ca lib/cmake/polympc/polympcConfig.cmake lib/cmake/polympc/polympcTargets.cmake
          lib/libpolympc_mpc.a include/polympc/mpc/session.h include/polympc/hls/kernel_tops.h
          include/polympc-kernels/kernels/matmul_combine.h include/polympc-kernels/kernels/matmul_combine.cpp
          share/polympc/hls/kernels.json share/polympc/perfmodel/data/boards/u280.json
          share/polympc/models/fmnist_cnn.onnx share/doc/polympc/README.md share/doc/polympc/scheduler.md)
  if(NOT EXISTS ${P}/${f})
    message(FATAL_ERROR "cmake --install did not install ${f}")
  endif()
endforeach()

# A consumer project against the installed package.
run("configure the consumer" ${CMAKE_COMMAND} -S ${SRC}/tests/install/consumer -B ${OUT}/consumer
    -DCMAKE_PREFIX_PATH=${P} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)
run("build the consumer" ${CMAKE_COMMAND} --build ${OUT}/consumer -j 2)
run("run the consumer" ${CMAKE_COMMAND} -E env POLYMPC_PERFMODEL_DATA=${P}/share/polympc/perfmodel/data
    ${OUT}/consumer/consumer)
if(NOT last_out MATCHES "consumer ok")
  message(FATAL_ERROR "consumer: ${last_out}")
endif()
message(STATUS "${last_out}")

# The installed CLI on the installed model and data.
run("installed polympc perf" ${CMAKE_COMMAND} -E env POLYMPC_PERFMODEL_DATA=${P}/share/polympc/perfmodel/data
    ${P}/bin/polympc perf --model ${P}/share/polympc/models/fmnist_cnn.onnx --no-sites)
if(NOT last_out MATCHES "latency ms")
  message(FATAL_ERROR "installed polympc perf:\n${last_out}")
endif()

# The Debian package.
run("cpack" ${CMAKE_COMMAND} -E chdir ${BIN} cpack -G DEB -B ${OUT}/package)
file(GLOB debs ${OUT}/package/*.deb)
list(LENGTH debs n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "cpack made ${n} .deb files in ${OUT}/package")
endif()
run("dpkg-deb --contents" dpkg-deb --contents ${debs})
foreach(needle "bin/polympc" "lib/cmake/polympc/polympcConfig.cmake" "share/polympc/models/fmnist_cnn.onnx")
  if(NOT last_out MATCHES "${needle}")
    message(FATAL_ERROR "the .deb lacks ${needle}")
  endif()
endforeach()
run("dpkg-deb --field" dpkg-deb --field ${debs} Package Version Depends)
message(STATUS "${debs}:\n${last_out}")
