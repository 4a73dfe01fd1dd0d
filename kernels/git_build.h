// Kernels built from git, one layer for both ways blackout builds them: a
// run's `kernel: {git: REPO, rev: REV}` (blackout's own config and make
// steps, in a cached build directory per repository and config) and a
// git-mode bisection's user build command (in the bisection's own checkout).
// Both check out in a `git clone --shared` of the repository (the user's tree
// is never touched), keep the build's log, show make's progress on the status
// line, and fail with KernelBuildError (the build-failure verdict; a
// bisection skips the commit) carrying the log's path and tail.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace blackout {

// The commit a revision names in repo, or nullopt when git does not know it.
std::optional<std::string> ResolveCommit(const std::string& repo, const std::string& rev);

// Makes checkout a `git clone --shared` of repo (once) and checks out commit,
// detached and forced; with clean, removes untracked and ignored files too.
void CheckoutCommit(const std::string& repo, const std::string& checkout, const std::string& commit, bool clean);

// A build step's progress from make's output: the objects compiled so far
// ("  CC      kernel/sys.o" and the like), for the status line.
class MakeProgress {
 public:
  // Feeds output as it comes (any chunking); returns the status text.
  std::string Feed(const std::string& chunk);
  int compiled() const { return compiled_; }

 private:
  std::string partial_;
  std::string last_;
  int compiled_ = 0;
};

// kernel: {git: ...}: see FetchKernel in kernels/kernel.h.
KernelArtifact FetchGitKernel(const KernelSpec& spec, const std::string& cache_dir);

// A user's build command over a commit (git-mode bisection with a build step).
struct CommandBuild {
  std::string repo;
  std::string command;  // run with sh -c in the checkout, BLACKOUT_COMMIT set
  std::string image;    // the kernel image it leaves, relative to the checkout
  std::string modules;  // optional: its lib/modules/<release> directory, relative
  std::string config;   // optional: its kernel config (.config), relative
  std::vector<std::string> keep;  // optional: other files it leaves, kept with the build
  // Run the command at idle CPU priority (SCHED_IDLE): a build ahead of time
  // takes only what a running guest leaves.
  bool idle_priority = false;
  // Once set, the build ends (its processes killed), nothing of it is kept,
  // and BuildWithCommand throws CancelledError: a build ahead of time for a
  // candidate the bisection no longer needs.
  const std::atomic<bool>* cancel = nullptr;
};

// Checks out commit in <dir>/checkout (cleaned first), runs the command with
// its log in <dir>/builds/<commit>.log, keeps what it built (image, modules,
// config and the keep files) in <dir>/builds/<commit>/, and returns the path
// kernel there. A commit built before is not built again: every run of a
// candidate, and a build made ahead of time, boots the kept files. Throws
// KernelBuildError when the command fails or leaves no image, and again at
// once for every later build of that commit in dir (<commit>.failed keeps
// the message); CancelledError when cancelled (nothing kept or remembered).
KernelSpec BuildWithCommand(const CommandBuild& build, const std::string& commit, const std::string& dir);
// Where BuildWithCommand keeps a build's `keep` file rel, if it was there.
std::string KeptBuildFile(const std::string& dir, const std::string& commit, const std::string& rel);
// True once commit's build is kept in dir (BuildWithCommand will not build).
bool BuildKept(const std::string& dir, const std::string& commit);

}  // namespace blackout
