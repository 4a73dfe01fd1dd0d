#include "harness/bisect/world.h"

#include <filesystem>

#include "base/log.h"
#include "harness/run.h"
#include "kernels/git_build.h"

namespace blackout {

bool RunWorld::Prepare(const BisectCandidate& c, const std::atomic<bool>* cancel) {
  if (!plan_.build) return true;
  if (BuildKept(dir_, c.name)) return true;
  GitBuild ahead = *plan_.build;
  ahead.idle_priority = true;
  ahead.cancel = cancel;
  try {
    std::lock_guard<std::mutex> lock(checkout_mu_);
    Log("building " + c.name.substr(0, 12) + " (at idle priority, ahead of its runs)");
    BuildCandidate(ahead, c, dir_);
    return true;
  } catch (const CancelledError&) {
    Log("build of " + c.name.substr(0, 12) + " ended: the bisection needs another candidate next");
    return false;
  } catch (const std::exception& e) {
    Log("build of " + c.name.substr(0, 12) + " failed: " + std::string(e.what()).substr(0, 200));
    return false;
  }
}

CandidateResult RunWorld::Run(const BisectCandidate& c) {
  RunRequest req;
  req.config = c.config;
  if (plan_.build) {
    try {
      if (BuildKept(dir_, c.name)) {
        req.config = BuildCandidate(*plan_.build, c, dir_);  // reads the kept build only
      } else {
        std::lock_guard<std::mutex> lock(checkout_mu_);
        Log("building " + c.name.substr(0, 12));
        req.config = BuildCandidate(*plan_.build, c, dir_);
      }
    } catch (const KernelBuildError& e) {
      CandidateResult r;
      r.title = e.what();
      r.run_dir = e.log;
      r.build_failed = true;
      return r;
    }
  }
  req.results_root = results_;
  req.store = store_;
  req.interrupted = interrupted_;
  req.bisection = std::filesystem::path(dir_).filename().string();
  RunOutcome out = RunOnPool(req, pool_);
  CandidateResult r{out.verdict, out.title, out.run_dir, out.interrupted};
  r.config_error = out.config_error;
  r.exposure_s = out.exposure_s.value_or(0);
  return r;
}

}  // namespace blackout
