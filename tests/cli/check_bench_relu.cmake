# CLI test of `polympc bench relu` (called by CTest with -DPOLYMPC=... -DOUT=...): a small
# run of each protocol over TCP loopback writes the JSON report with every key issue #3
# asks for, the output equals the plaintext twin, and FSS stays within 2 rounds and
# 50 bytes per ReLU at l = 64; a bad option is a one-line error with a non-zero exit.
foreach(protocol gmw fss)
  execute_process(COMMAND ${POLYMPC} bench relu --compare ${protocol} --bits 64 --n 3000 --transport tcp
                          --quiet --json ${OUT}.${protocol}.json
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "polympc bench relu --compare ${protocol} failed (${rc}):\n${out}\n${err}")
  endif()
  file(READ ${OUT}.${protocol}.json j)
  foreach(key protocol bits n relu_per_second online_bytes_per_relu rounds offline_bytes_per_relu seconds
              mismatches)
    string(JSON v ERROR_VARIABLE e GET "${j}" ${key})
    if(e)
      message(FATAL_ERROR "bench relu JSON lacks '${key}': ${e}")
    endif()
  endforeach()
  string(JSON mismatches GET "${j}" mismatches)
  if(NOT mismatches EQUAL 0)
    message(FATAL_ERROR "bench relu --compare ${protocol}: ${mismatches} outputs differ from the plaintext twin")
  endif()
  string(JSON proto GET "${j}" protocol)
  if(NOT proto STREQUAL protocol)
    message(FATAL_ERROR "bench relu reports protocol '${proto}', asked for '${protocol}'")
  endif()
endforeach()
string(JSON rounds GET "${j}" rounds)
string(JSON bytes GET "${j}" online_bytes_per_relu)
string(JSON aes GET "${j}" aes_blocks_per_drelu)
if(rounds GREATER 2 OR bytes GREATER 50 OR NOT aes EQUAL 63)
  message(FATAL_ERROR "fss ReLU: ${rounds} rounds, ${bytes} bytes per ReLU, ${aes} AES blocks per DReLU")
endif()
execute_process(COMMAND ${POLYMPC} bench relu --compare yao --n 10
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "unknown comparison protocol 'yao'")
  message(FATAL_ERROR "a bad --compare must fail with a clear error, got (${rc}): ${err}")
endif()
message(STATUS "polympc bench relu: gmw and fss reports complete and correct")
