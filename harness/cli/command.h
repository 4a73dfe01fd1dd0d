// The command table: each command group (one file in harness/cli/) adds its
// subcommands and flags to the CLI11 app and registers a handler for each, as
// ninja's Tool table does; main() parses, runs the handler of the command
// given and maps what escapes to an exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "results/store.h"


namespace blackout {

using Handler = std::function<int()>;

struct Command {
  CLI::App* app;
  Handler run;
  // Says why and returns the exit code when the command's flags are wrong;
  // empty: kExitUsage (blackout test exits 128, so that git bisect run stops).
  Handler bad_flags;
};

class CommandTable {
 public:
  void Add(CLI::App* app, Handler run, Handler bad_flags = {}) {
    commands_.push_back({app, std::move(run), std::move(bad_flags)});
  }
  // The deepest parsed command ("results show" before "results"), or nullptr.
  const Command* Parsed() const;

 private:
  std::vector<Command> commands_;
};

// Set by SIGINT, SIGTERM and SIGHUP; every long step polls it.
std::atomic<bool>& InterruptFlag();

// Each group adds its commands (harness/cli/<group>_cmd.cc).
void AddRunCommands(CLI::App& app, CommandTable& table);      // run, test
void AddBisectCommands(CLI::App& app, CommandTable& table);   // bisect ...
void AddCatalogCommands(CLI::App& app, CommandTable& table);  // kernels ..., workloads ...
void AddImagesCommands(CLI::App& app, CommandTable& table);   // images ...
void AddQualifyCommands(CLI::App& app, CommandTable& table);  // qualify
void AddResultsCommands(CLI::App& app, CommandTable& table);  // results ..., report, compare
void AddAnalyzeCommands(CLI::App& app, CommandTable& table);  // analyze
void AddHostsCommands(CLI::App& app, CommandTable& table);    // hosts check
void AddMatrixCommands(CLI::App& app, CommandTable& table);   // matrix
void AddXenHostCommands(CLI::App& app, CommandTable& table);  // xen-host

// --store: the results store, when not the results root's own. Its default
// is BLACKOUT_STORE from the environment (which keeps a password off the
// command line); a --store given anywhere on the line wins.
inline CLI::Option* AddStoreOption(CLI::App* app, std::string& store) {
  const char* env = std::getenv("BLACKOUT_STORE");
  if (store.empty() && env) store = env;
  return app->add_option("--store", store,
                         "results store: postgresql://USER@HOST/DB (one history for many runners) or sqlite:PATH "
                         "(default: $BLACKOUT_STORE, else RESULTS/blackout.db)");
}

// A matrix's regressed cell, bisected (harness/cli/bisect_cmd.cc): started
// from a plan's text, or resumed when the results root's current bisection
// has the same origin (a killed matrix started again), or, when one with
// that origin already ended (the comparison run again), not run again.
// Prints the bisection's report; returns its row as the store has it (with
// `earlier` set for one that had ended). Throws InterruptedError on Ctrl-C,
// InfraError when another bisection holds the results root.
struct RegressionBisect {
  std::string results, store;
  std::vector<std::string> hosts;
  std::string hosts_file;
  std::string yaml, source, good, bad;
  nlohmann::json origin;  // {matrix, cell, title}
  FILE* out = stdout;     // where the bisection's report is printed
};
BisectionRow BisectRegression(const RegressionBisect& r, bool* earlier);

// "PREFIXverdict: title (run directory)", the line a run ends with (without
// the directory when the run never got one), on stdout (harness/cli/run_cmd.cc).
struct RunOutcome;
void PrintVerdictLine(const std::string& prefix, const RunOutcome& out);

// The exit codes of `blackout run`, shown under the app's and run's help.
extern const char kRunExitCodes[];

}  // namespace blackout
