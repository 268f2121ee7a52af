// The subcommands of `xyserve`. Each add_* registers its flags on the app and returns the
// function that runs it; run functions print errors to stderr and return the exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace xy::cli {

using CommandRunner = std::function<int()>;

CommandRunner add_make_model_command(CLI::App& app);
CommandRunner add_generate_command(CLI::App& app);
CommandRunner add_logits_command(CLI::App& app);
// Registers `offline` under the `bench` group (main.cpp creates the group once).
CommandRunner add_bench_offline_command(CLI::App& bench);
// Registers `serve` under the `bench` group.
CommandRunner add_bench_serve_command(CLI::App& bench);
CommandRunner add_tune_command(CLI::App& app);
CommandRunner add_quantize_command(CLI::App& app);
CommandRunner add_serve_command(CLI::App& app);
CommandRunner add_router_command(CLI::App& app);

}  // namespace xy::cli
