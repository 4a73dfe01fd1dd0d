#include "harness/bisect/world.h"

#include <filesystem>

#include "base/log.h"
#include "harness/run.h"
#include "kernels/git_build.h"

namespace blackout {

CandidateResult RunWorld::Run(const BisectCandidate& c) {
  RunRequest req;
  req.config = c.config;
  if (plan_.build) {
    try {
      Log("building " + c.name.substr(0, 12));
      req.config = BuildCandidate(*plan_.build, c, dir_);
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
  return {out.verdict, out.title, out.run_dir, out.interrupted};
}

}  // namespace blackout
