# Vitis HLS flow of one kernel top (docs/design.md §7): C simulation with the kernel's test
# bench, C synthesis, and optionally C/RTL co-simulation.
#
# Sourced by the per-kernel scripts that the build generates from hls/kernels.json
# (<build>/hls/<top>/run_hls.tcl), which set:
#   polympc_top        extern "C" top (e.g. beaver_mul_combine_top)
#   polympc_source     kernels/<file>.cpp
#   polympc_testbench  hls/tb/tb_<kernel>.cpp (returns non-zero on a mismatch)
#   polympc_cflags     include flags (repository root, hls/include, generated headers)
#   polympc_part       FPGA part (e.g. xcu250-figd2104-2L-e)
#   polympc_clock_ns   clock period in ns (3.33 = 300 MHz)
# Steps come from the command line, default "csim csynth":
#   vitis_hls -f <build>/hls/<top>/run_hls.tcl -tclargs csim csynth cosim
# The project is created in the current directory as <top>/solution1; the csynth report
# is <top>/solution1/syn/report/<top>_csynth.rpt. Any failing step (a test bench that
# returns non-zero fails csim_design) makes vitis_hls exit non-zero.
foreach var {polympc_top polympc_source polympc_testbench polympc_cflags polympc_part polympc_clock_ns} {
  if {![info exists $var]} {
    puts "hls_kernel.tcl: $var is not set (run the generated <build>/hls/<top>/run_hls.tcl)"
    exit 2
  }
}
set steps $argv
if {[llength $steps] == 0} {
  set steps {csim csynth}
}
foreach step $steps {
  if {[lsearch -exact {csim csynth cosim} $step] < 0} {
    puts "hls_kernel.tcl: unknown step '$step' (choose from csim csynth cosim)"
    exit 2
  }
}
set cflags "-std=c++14 $polympc_cflags"

open_project -reset $polympc_top
set_top $polympc_top
add_files $polympc_source -cflags $cflags
add_files -tb $polympc_testbench -cflags "$cflags -Wno-unknown-pragmas"
open_solution -reset solution1 -flow_target vitis
set_part $polympc_part
create_clock -period $polympc_clock_ns -name default

if {[lsearch -exact $steps csim] >= 0} {
  puts "polympc: csim of $polympc_top with [file tail $polympc_testbench]"
  csim_design
}
if {[lsearch -exact $steps csynth] >= 0 || [lsearch -exact $steps cosim] >= 0} {
  puts "polympc: csynth of $polympc_top ($polympc_part, $polympc_clock_ns ns)"
  csynth_design
}
if {[lsearch -exact $steps cosim] >= 0} {
  puts "polympc: cosim of $polympc_top"
  cosim_design -trace_level none
}
exit 0
