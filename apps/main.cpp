// polympc: private inference of neural networks under 2PC (docs/design.md §13).
// Errors become one line on stderr and a non-zero exit (docs/design.md §15, rule 6).
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "party_cmd.h"
#include "polympc/mpc/allocator.h"
#include "polympc/mpc/errors.h"

int main(int argc, char** argv) {
  polympc::mpc::keep_large_allocations_in_heap();
  CLI::App app{"polympc: private inference of neural networks under secure two-party computation"};
  app.require_subcommand(1);
  polympc::apps::add_infer_command(app);
  polympc::apps::add_dealer_command(app);
  polympc::apps::add_serve_commands(app);
  polympc::apps::add_train_command(app, argc, argv);
  polympc::apps::add_export_arch_command(app);
  polympc::apps::add_block_relu_command(app);
  polympc::apps::add_rings_command(app);
  polympc::apps::add_arch_command(app);
  polympc::apps::add_devices_command(app);
  polympc::apps::add_perf_command(app);
  polympc::apps::add_schedule_command(app);
  polympc::apps::add_bench_command(app);
  polympc::apps::add_bench_relu_command(*app.get_subcommand("bench"));
  int rc = 0;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    rc = app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "polympc: error: " << e.what() << "\n";
    rc = 1;
  }
  // Debian's XRT 2.13 can hang in its static teardown (joining its command-monitor
  // thread, about once in 500 runs, docs/fpga.md): everything of ours is flushed and
  // closed by now, so leave without running static destructors.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(rc);
}
