// `blackout analyze`: re-judges a saved console log with the detector a
// live run uses.
#include <cstdio>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/units.h"
#include "harness/cli/command.h"
#include "harness/detect/analyze.h"

namespace blackout {
namespace {

struct AnalyzeFlags {
  std::string path;
  std::string nonce;
  int vcpus = 0;
  std::string stall = "2s";
  std::string lockup = "30s";
  bool json = false;
};

// One line per notable event, for people.
std::string Describe(const DetectorEvent& e) {
  const nlohmann::json& d = e.data;
  if (e.type == "report") {
    return d["kind"].get<std::string>() + ": " +
           ShownTitle(d["title"].get<std::string>(), d.value("discounted", std::string()));
  }
  if (e.type == "freeze") {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%.2fs %s freeze of vCPU %s (%s)", d["length_s"].get<double>(),
                  d["whole_guest"].get<bool>() ? "whole-guest" : "partial", d["vcpus"].dump().c_str(),
                  d["cause"].get<std::string>().c_str());
    return buf;
  }
  if (e.type == "agent") return "agent " + d.value("event", std::string("?"));
  return d.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int CmdAnalyze(const AnalyzeFlags& f) {
  AnalyzeOptions o;
  o.nonce = f.nonce;
  o.vcpus = f.vcpus;
  auto stall = ParseDuration(f.stall);
  auto lockup = ParseDuration(f.lockup);
  if (!stall || !lockup) throw ConfigError({"--stall/--lockup: not a duration"});
  o.stall_s = *stall;
  o.lockup_s = *lockup;
  Analysis a;
  try {
    a = AnalyzeFile(f.path, o);
  } catch (const InterruptedError&) {
    throw;
  } catch (const InfraError& e) {
    throw ConfigError({e.what()});
  }
  if (f.json) {
    nlohmann::json events = nlohmann::json::array();
    for (const DetectorEvent& e : a.events) {
      nlohmann::json j = e.data;
      j["t"] = e.t;
      j["type"] = e.type;
      events.push_back(j);
    }
    nlohmann::json freezes = nlohmann::json::array();
    for (const Freeze& fr : a.freezes) freezes.push_back(FreezeJson(fr));
    nlohmann::json out = {{"verdict", VerdictName(a.verdict)}, {"title", a.title},
                          {"judged_by", a.reports_only ? "kernel-reports" : "heartbeats"}, {"nonce", a.nonce},
                          {"vcpus", a.vcpus}, {"freezes", freezes}, {"events", events}, {"stats", a.stats}};
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    for (const DetectorEvent& e : a.events) {
      if (e.type == "agent" || e.type == "stop" || e.type == "verdict") continue;
      std::printf("[+%.3f] %-15s %s\n", e.t, e.type.c_str(), TerminalSafe(StripEscapes(Describe(e))).c_str());
    }
    if (a.reports_only) std::printf("a plain log (no heartbeat records): judged by the kernel's reports alone\n");
    std::printf("%s: %s\n", VerdictName(a.verdict), TerminalSafe(StripEscapes(a.title)).c_str());
  }
  return VerdictExitCode(a.verdict);
}

}  // namespace

void AddAnalyzeCommands(CLI::App& app, CommandTable& table) {
  auto af = std::make_shared<AnalyzeFlags>();
  CLI::App* analyze = app.add_subcommand("analyze", "judge a saved console log (console.log or a plain log)");
  analyze->add_option("log", af->path, "the console log")->required();
  analyze->add_option("--nonce", af->nonce, "the run's nonce (default: the first record's)");
  analyze->add_option("--vcpus", af->vcpus, "vCPUs expected (default: from the agent's hello)");
  analyze->add_option("--stall", af->stall, "stall threshold")->capture_default_str();
  analyze->add_option("--lockup", af->lockup, "lockup timeout")->capture_default_str();
  analyze->add_flag("--json", af->json, "print the analysis as JSON");
  analyze->footer("Exit code: the verdict's, as for run.");
  table.Add(analyze, [af] { return CmdAnalyze(*af); });
}

}  // namespace blackout
