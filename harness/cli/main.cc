// blackout: finds and bisects kernel hangs in Xen PV guests.
//
// main() builds the command table, parses flags, runs the command given and
// maps its outcome to an exit code. Everything else lives in the libraries
// the tests link; each command group is one file beside this one.
#include <signal.h>

#include <cstdio>

#include "base/error.h"
#include "base/log.h"
#include "harness/cli/command.h"
#include "results/verdict.h"

#ifndef BLACKOUT_VERSION
#define BLACKOUT_VERSION "dev"
#endif

namespace blackout {
namespace {

void OnSignal(int) { InterruptFlag() = true; }

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// The command groups, in the order `blackout --help` lists them.
using AddGroup = void (*)(CLI::App&, CommandTable&);
const AddGroup kGroups[] = {AddRunCommands, AddCatalogCommands, AddImagesCommands, AddQualifyCommands, AddBisectCommands, AddResultsCommands,
                            AddAnalyzeCommands, AddMatrixCommands, AddHostsCommands, AddXenHostCommands};

int Main(int argc, char** argv) {
  CLI::App app{"blackout: boots Xen PV guests, drives IO and scheduler stress, and detects\n"
               "lockups and short freezes from per-vCPU heartbeats on the serial console."};
  app.set_version_flag("--version", BLACKOUT_VERSION);
  app.require_subcommand(1);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "print only the verdict line");
  CommandTable table;
  for (AddGroup add : kGroups) add(app, table);
  app.footer(kRunExitCodes);  // set last: subcommands would inherit it

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    if (code == 0) return 0;
    const Command* c = table.Parsed();
    return c && c->bad_flags ? c->bad_flags() : kExitUsage;
  }
  SetLogQuiet(quiet);
  InstallSignalHandlers();
  SetInterruptFlag(&InterruptFlag());
  const Command* command = table.Parsed();
  if (!command) return kExitUsage;
  try {
    return command->run();
  } catch (const InterruptedError& e) {
    ClearStatus();
    std::fprintf(stderr, "blackout: %s\n", e.what());
    return kExitInterrupted;
  } catch (const ConfigError& e) {
    ClearStatus();
    for (const std::string& p : e.problems()) std::fprintf(stderr, "blackout: %s\n", p.c_str());
    return kExitUsage;
  } catch (const Error& e) {
    ClearStatus();
    std::fprintf(stderr, "blackout: %s\n", e.what());
    return VerdictExitCode(Verdict::kInfraError);
  } catch (const std::exception& e) {
    // Never std::terminate: whatever escaped is the harness's fault.
    ClearStatus();
    std::fprintf(stderr, "blackout: blackout failed: %s\n", e.what());
    return VerdictExitCode(Verdict::kInfraError);
  }
}

}  // namespace

std::atomic<bool>& InterruptFlag() {
  static std::atomic<bool> flag{false};
  return flag;
}

const Command* CommandTable::Parsed() const {
  const Command* best = nullptr;
  int best_depth = -1;
  for (const Command& c : commands_) {
    if (!c.app->parsed()) continue;
    int depth = 0;
    for (const CLI::App* p = c.app->get_parent(); p; p = p->get_parent()) ++depth;
    if (depth > best_depth) {
      best = &c;
      best_depth = depth;
    }
  }
  return best;
}

}  // namespace blackout

int main(int argc, char** argv) { return blackout::Main(argc, argv); }
