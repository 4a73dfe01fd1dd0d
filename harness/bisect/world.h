// The real world of a bisection: each candidate is one `blackout run` (after
// its build, in git mode with a build step), recorded in the results store
// as a step of the bisection. Tests inject a fake BisectWorld instead.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "harness/bisect/driver.h"
#include "harness/fleet.h"

namespace blackout {

class RunWorld : public BisectWorld {
 public:
  // dir: the bisection's directory (its id is the last component).
  // pool: the hosts the runs are placed on, or null for the plan's own backend.
  // store: --store (empty: the results root's own).
  RunWorld(std::string results, std::string store, const BisectPlan& plan, std::string dir,
           const std::atomic<bool>* interrupted, HostPool* pool = nullptr)
      : results_(std::move(results)),
        store_(std::move(store)),
        plan_(plan),
        dir_(std::move(dir)),
        interrupted_(interrupted),
        pool_(pool) {}
  CandidateResult Run(const BisectCandidate& c) override;
  // Runs share nothing but locked caches and the store. Git builds share
  // the bisection's one checkout: the driver builds a round's candidates one
  // after another (Prepare) before their runs start, and a run then only
  // reads its kept build (or its remembered failure).
  bool Parallel() const override { return true; }
  // Git builds: kept per commit (BuildWithCommand), made ahead at idle CPU
  // priority while a guest runs.
  bool Prepare(const BisectCandidate& c, const std::atomic<bool>* cancel) override;
  bool PreparesAhead() const override { return plan_.build.has_value(); }

 private:
  std::string results_, store_;
  const BisectPlan& plan_;
  std::string dir_;
  const std::atomic<bool>* interrupted_;
  HostPool* pool_;
  std::mutex checkout_mu_;  // held while anything builds in the one checkout
};

}  // namespace blackout
