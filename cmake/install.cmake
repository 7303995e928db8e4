# Installation (README "Installing"): `cmake --install build [--prefix P]` puts
#   bin/polympc                              the CLI
#   lib/libpolympc_*.a, include/polympc/...  the libraries and their headers
#   include/polympc-kernels/kernels/         the kernels' sources (headers and extern "C" tops)
#   share/polympc/hls/                       kernels.json, the Vitis scripts and test benches
#   share/polympc/perfmodel/data/            boards, kernels, network presets
#   share/polympc/models/                    the shipped models
#   share/doc/polympc/                       README and docs/
#   lib/cmake/polympc/                       the CMake package: find_package(polympc) gives
#                                            polympc::mpc, ::nn, ::sim, ::cpu, ::perfmodel,
#                                            ::scheduler, ::kernels, ::hls
# and `cpack` (or `cmake --build build --target package`) makes a .deb of the same.
include(CMakePackageConfigHelpers)

set(_polympc_libs polympc_warnings polympc_hls polympc_kernels polympc_mpc polympc_sim polympc_cpu polympc_nn
    polympc_perfmodel polympc_scheduler)
foreach(t ${_polympc_libs})
  string(REPLACE "polympc_" "" _export_name ${t})
  set_target_properties(${t} PROPERTIES EXPORT_NAME ${_export_name})
endforeach()
install(TARGETS ${_polympc_libs} EXPORT polympcTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS polympc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The test-CA helper of docs/deployment.md, as a command beside the CLI.
install(PROGRAMS ${CMAKE_SOURCE_DIR}/scripts/make-test-ca.sh DESTINATION ${CMAKE_INSTALL_BINDIR}
        RENAME polympc-make-test-ca)

foreach(dir mpc sim cpu nn perfmodel scheduler hls)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/${dir}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(DIRECTORY ${POLYMPC_GENERATED_INCLUDE_DIR}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/kernels/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/polympc-kernels/kernels
        FILES_MATCHING PATTERN "*.h" PATTERN "*.cpp")
install(FILES ${CMAKE_SOURCE_DIR}/hls/kernels.json DESTINATION ${CMAKE_INSTALL_DATADIR}/polympc/hls)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/hls/scripts ${CMAKE_SOURCE_DIR}/hls/tb ${CMAKE_SOURCE_DIR}/hls/cmake
        DESTINATION ${CMAKE_INSTALL_DATADIR}/polympc/hls)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/perfmodel/data/ DESTINATION ${CMAKE_INSTALL_DATADIR}/polympc/perfmodel/data)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/models/ DESTINATION ${CMAKE_INSTALL_DATADIR}/polympc/models
        FILES_MATCHING PATTERN "*.onnx" PATTERN "README.md")
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(_polympc_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/polympc)
install(EXPORT polympcTargets NAMESPACE polympc:: DESTINATION ${_polympc_cmake_dir})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/polympcConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/polympcConfig.cmake INSTALL_DESTINATION ${_polympc_cmake_dir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/polympcConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/polympcConfig.cmake ${CMAKE_BINARY_DIR}/polympcConfigVersion.cmake
        DESTINATION ${_polympc_cmake_dir})

# CPack: a Debian package of everything above. Its run-time dependencies come from
# dpkg-shlibdeps; the -dev packages a consumer of the CMake package needs are listed.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME polympc)
set(CPACK_PACKAGE_VENDOR "polympc")
set(CPACK_PACKAGE_CONTACT "polympc maintainers <polympc@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Private inference of neural networks under 2PC, FPGA kernels and performance model")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# polympc-make-test-ca runs the openssl command.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "openssl")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "libssl-dev, libonnx-dev, libprotobuf-dev, zlib1g-dev, nlohmann-json3-dev, libasio-dev, libeigen3-dev, dataset-fashion-mnist")
include(CPack)
