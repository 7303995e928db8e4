// polympc: private inference of neural networks under 2PC (DESIGN.md §13).
// Errors become one line on stderr and a non-zero exit (STYLE.md rule 6).
#include <iostream>

#include "commands.h"
#include "party_cmd.h"
#include "polympc/mpc/errors.h"

int main(int argc, char** argv) {
  CLI::App app{"polympc: private inference of neural networks under secure two-party computation"};
  app.require_subcommand(1);
  polympc::apps::add_infer_command(app);
  polympc::apps::add_dealer_command(app);
  polympc::apps::add_devices_command(app);
  polympc::apps::add_perf_command(app);
  polympc::apps::add_bench_command(app);
  polympc::apps::add_bench_relu_command(*app.get_subcommand("bench"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "polympc: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
