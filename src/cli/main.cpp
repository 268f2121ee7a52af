// xyserve: the command-line front door. Subcommands live in one file each (*_command.cpp).
#include <cstdio>
#include <map>
#include <string>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"xyserve: an LLM serving engine with hybrid prefill/decode/verify scheduling"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "xyserve 0.1.0");
  std::map<std::string, xy::cli::CommandRunner> runners;
  runners["make-model"] = xy::cli::add_make_model_command(app);
  runners["generate"] = xy::cli::add_generate_command(app);
  runners["logits"] = xy::cli::add_logits_command(app);
  // `bench` groups the benchmarks; its subcommands are dispatched as "bench <name>".
  CLI::App* bench = app.add_subcommand(
      "bench",
      "Benchmarks (bench serve: a server under a trace; bench offline: engine throughput)");
  bench->require_subcommand(1);
  runners["bench serve"] = xy::cli::add_bench_serve_command(*bench);
  runners["bench offline"] = xy::cli::add_bench_offline_command(*bench);
  runners["tune"] = xy::cli::add_tune_command(app);
  runners["quantize"] = xy::cli::add_quantize_command(app);
  runners["serve"] = xy::cli::add_serve_command(app);
  runners["router"] = xy::cli::add_router_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (CLI::App* sub : app.get_subcommands()) {
    std::string name = sub->get_name();
    for (CLI::App* leaf : sub->get_subcommands()) name += " " + leaf->get_name();
    auto it = runners.find(name);
    if (it != runners.end()) return it->second();
  }
  std::fprintf(stderr, "xyserve: no command given (see --help)\n");
  return 2;
}
