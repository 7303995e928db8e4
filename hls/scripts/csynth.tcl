# Vitis HLS C synthesis of one kernel top (DESIGN.md §7).
# usage: vitis_hls -f csynth.tcl -tclargs <kernel.cpp> <top> <part> <clock_ns> <repo_root> <out_dir>
# Writes <out_dir>/<top>/solution1 with the csynth report (syn/report/<top>_csynth.rpt).
if {[llength $argv] != 6} {
  puts "usage: vitis_hls -f csynth.tcl -tclargs <kernel.cpp> <top> <part> <clock_ns> <repo_root> <out_dir>"
  exit 1
}
lassign $argv src top part clock root out
cd $out
open_project -reset $top
set_top $top
add_files $src -cflags "-std=c++14 -I$root -I$root/hls/include"
open_solution -reset solution1 -flow_target vitis
set_part $part
create_clock -period $clock -name default
csynth_design
exit
