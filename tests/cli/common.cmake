# Helpers of the CLI tests (include()d by tests/cli/check_*.cmake).

# Runs a command; a non-zero exit fails the test, naming `what` and its output. Sets `var`
# in the caller's scope to its standard output.
function(polympc_run_out var what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(${var} "${out}" PARENT_SCOPE)
endfunction()

# polympc_run_out without the output.
function(polympc_run_ok what)
  polympc_run_out(unused "${what}" ${ARGN})
endfunction()

# Runs a command that must fail with an error message matching `needle`.
function(polympc_expect_fail what needle)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "${needle}")
    message(FATAL_ERROR "${what}: expected a failure matching '${needle}', got rc=${rc}:\n${out}\n${err}")
  endif()
endfunction()

# Runs `polympc infer ... --quiet --json <file>` with the given arguments and sets `var` in
# the caller's scope to the JSON report.
function(polympc_infer_json var what file)
  polympc_run_ok("${what}" ${POLYMPC} infer ${ARGN} --quiet --json ${file})
  file(READ ${file} j)
  set(${var} "${j}" PARENT_SCOPE)
endfunction()

# Runs `polympc infer --role server SERVER...` and `polympc infer --role client CLIENT...` at
# once, as two processes over TCP loopback, and sets <prefix>_rcs ("0;0" when both
# succeed), <prefix>_out and <prefix>_err in the caller's scope. execute_process pipes the
# first COMMAND's stdout into the second's stdin: the server's stdout goes to stderr
# instead, so that it never writes into a pipe the finished client has closed (SIGPIPE).
function(polympc_two_parties prefix)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SERVER;CLIENT")
  execute_process(COMMAND sh -c "exec \"$@\" >&2" sh ${POLYMPC} infer --role server ${arg_SERVER}
                  COMMAND ${POLYMPC} infer --role client ${arg_CLIENT}
                  RESULTS_VARIABLE rcs OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${prefix}_rcs "${rcs}" PARENT_SCOPE)
  set(${prefix}_out "${out}" PARENT_SCOPE)
  set(${prefix}_err "${err}" PARENT_SCOPE)
endfunction()
