#include "kernels/git_build.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/subprocess.h"
#include "kernels/builtin_fragments.h"
#include "kernels/cache.h"
#include "kernels/deb.h"
#include "kernels/kconfig.h"

namespace blackout {
namespace fs = std::filesystem;
namespace {

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string BuiltinFragment(const std::string& name) {
  for (const BuiltinFile& f : kBuiltinFragmentFiles) {
    if (std::string(f.name) == name + ".config") return f.text;
  }
  return "";
}

// Runs one build step with make's progress on the status line, appending its
// output to the transcript kept in log; a failure is the commit's
// build-failure, with the command, how it ended and the output's tail.
void BuildStep(const std::vector<std::string>& argv, CommandOptions options, const std::string& what,
               const std::string& log, std::string* transcript, bool kernel_step) {
  *transcript += "$ " + CommandLine(argv) + "\n";
  MakeProgress progress;
  auto t0 = std::chrono::steady_clock::now();
  options.on_output = [&](const std::string& chunk) {
    std::string line = progress.Feed(chunk);
    Status("building " + what + ": " + std::to_string(progress.compiled()) + " files compiled, " +
           std::to_string(static_cast<int>(Since(t0))) + "s" + (line.empty() ? "" : " (" + line + ")"));
  };
  CommandResult r = RunCommand(argv, options);
  ClearStatus();
  *transcript += r.output;
  WriteFileAtomic(log, *transcript);
  if (!r.ok()) {
    std::string how = r.timed_out ? "timed out"
                      : r.signal  ? "killed by signal " + std::to_string(r.signal)
                                  : "exit " + std::to_string(r.exit_code);
    // blackout's own make steps name the step and the log, then the output's
    // tail; a user's command is theirs to know, so its title is its tail.
    std::string message = kernel_step ? "build of " + what + " failed (" + how + "): " + CommandLine(argv) +
                                            ", log " + log + "\n" + OutputTail(r.output, 15)
                                      : "build of " + what + " failed (" + how + "): " + OutputTail(r.output, 3);
    throw KernelBuildError(message, log);
  }
}

}  // namespace

std::optional<std::string> ResolveCommit(const std::string& repo, const std::string& rev) {
  CommandOptions o;
  o.timeout_s = 60;
  CommandResult c = RunCommand({"git", "-C", repo, "rev-parse", "--verify", rev + "^{commit}"}, o);
  if (!c.ok()) return std::nullopt;
  return c.output.substr(0, c.output.find('\n'));
}

void CheckoutCommit(const std::string& repo, const std::string& checkout, const std::string& commit, bool clean) {
  CommandOptions git;
  git.timeout_s = 600;
  if (!fs::exists(checkout + "/.git")) {
    RunChecked({"git", "clone", "-q", "--shared", "--no-checkout", repo, checkout}, git);
  }
  RunChecked({"git", "-C", checkout, "checkout", "-q", "--detach", "--force", commit}, git);
  if (clean) RunChecked({"git", "-C", checkout, "clean", "-q", "-d", "-x", "--force"}, git);
}

std::string MakeProgress::Feed(const std::string& chunk) {
  partial_ += chunk;
  size_t start = 0, nl;
  while ((nl = partial_.find('\n', start)) != std::string::npos) {
    std::string line = partial_.substr(start, nl - start);
    start = nl + 1;
    // kbuild's quiet lines: two spaces, a verb in capitals, spaces, a target.
    if (line.size() > 4 && line[0] == ' ' && line[1] == ' ' && std::isupper(static_cast<unsigned char>(line[2]))) {
      size_t verb_end = line.find(' ', 2);
      if (verb_end == std::string::npos) continue;
      std::string verb = line.substr(2, verb_end - 2);
      if (verb.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != std::string::npos) continue;
      size_t target = line.find_first_not_of(' ', verb_end);
      if (target == std::string::npos) continue;
      if (verb == "CC" || verb == "AS") ++compiled_;
      last_ = verb + " " + line.substr(target);
    }
  }
  partial_.erase(0, start);
  return last_;
}

KernelArtifact FetchGitKernel(const KernelSpec& spec, const std::string& cache_dir) {
  std::optional<std::string> resolved = ResolveCommit(spec.repo, spec.rev);
  if (!resolved) throw ConfigError({"kernel git " + spec.repo + ": unknown revision '" + spec.rev + "'"});
  std::string commit = *resolved;
  // The config, as text: the base and each fragment's contents.
  std::vector<std::string> fragments;
  std::string identity = "base " + spec.config_base + "\n";
  for (const std::string& f : spec.fragments) {
    std::string text = BuiltinFragment(f);
    if (text.empty()) {
      if (!fs::exists(f)) throw ConfigError({"kernel config fragment '" + f + "': neither a kernels/configs name nor a file"});
      text = ReadFile(f);
    }
    fragments.push_back(text);
    identity += "fragment " + f + "\n" + text;
  }
  bool base_file = spec.config_base.find('/') != std::string::npos;
  if (base_file) identity += ReadFile(spec.config_base);
  MakeDirs(cache_dir + "/git-build");
  std::string config_id = Sha256Text(cache_dir + "/git-build", identity).substr(0, 16);
  std::string repo_abs = fs::absolute(spec.repo).lexically_normal().string();
  std::string build_id = Sha256Text(cache_dir + "/git-build", repo_abs + "\n" + config_id).substr(0, 16);
  std::string root = cache_dir + "/git-build/" + build_id;
  std::string log = root + "/logs/" + commit + ".log";

  std::string dir = CacheEntry(cache_dir, commit + "_" + config_id, [&](const std::string& tmp) {
    FileLock lock(root + ".lock");  // one build at a time in a build directory
    MakeDirs(root + "/logs");
    std::string src = root + "/src", out = root + "/out";
    CheckoutCommit(spec.repo, src, commit, false);
    std::string ccache = FindProgram("ccache");
    std::vector<std::string> make = {"make", "-C", src, "O=" + out};
    if (!ccache.empty()) make.push_back("CC=ccache gcc");
    CommandOptions m;
    m.timeout_s = 6 * 3600;
    m.env = {"CCACHE_DIR=" + cache_dir + "/ccache", "KBUILD_BUILD_TIMESTAMP=blackout", "KBUILD_BUILD_USER=blackout",
             "KBUILD_BUILD_HOST=blackout"};
    std::string transcript;
    auto step = [&](std::vector<std::string> argv) {
      BuildStep(argv, m, "kernel " + commit.substr(0, 12), log, &transcript, true);
    };
    auto t0 = std::chrono::steady_clock::now();
    Log("building kernel " + commit.substr(0, 12) + " from " + spec.repo + " in " + root);
    // Configure once per build directory; later commits only olddefconfig.
    if (!fs::exists(out + "/.config") || !fs::exists(out + "/.blackout-config-" + config_id)) {
      MakeDirs(out);
      if (base_file) {
        WriteFileAtomic(out + "/.config", ReadFile(spec.config_base));
      } else {
        std::vector<std::string> argv = make;
        argv.push_back(spec.config_base);
        step(argv);
      }
      WriteFileAtomic(out + "/.config", MergeConfig(ReadFile(out + "/.config"), fragments));
      WriteFileAtomic(out + "/.blackout-config-" + config_id, identity);
    }
    std::vector<std::string> olddef = make;
    olddef.push_back("olddefconfig");
    step(olddef);
    std::string config = ReadFile(out + "/.config");
    std::vector<std::string> missing = MissingOptions(config, fragments);
    if (!missing.empty()) {
      std::vector<std::string> problems;
      for (const std::string& o : missing) problems.push_back("kernel config lacks " + o + " after olddefconfig (a dependency is off)");
      throw ConfigError(problems);
    }
    // With loadable modules the =m options are built too, and installed
    // into the artifact as a package ships them (modules_install, depmod).
    bool modules = ConfigValue(config, "MODULES") == "y";
    std::vector<std::string> build = make;
    build.push_back("-j" + std::to_string(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN))));
    build.push_back("bzImage");
    if (modules) build.push_back("modules");
    step(build);
    std::vector<std::string> rel = make;
    rel.insert(rel.begin() + 1, "-s");
    rel.push_back("kernelrelease");
    std::string release = RunChecked(rel, m);
    release = release.substr(0, release.find('\n'));
    if (modules) {
      std::vector<std::string> install = make;
      install.insert(install.end(), {"INSTALL_MOD_PATH=" + tmp, "INSTALL_MOD_STRIP=1", "modules_install"});
      step(install);
      std::string mods = tmp + "/lib/modules/" + release;
      // Links back into the build directory: not part of the artifact.
      for (const char* link : {"build", "source"}) fs::remove(mods + "/" + link);
      if (!fs::exists(mods + "/modules.dep")) {
        CommandOptions d;
        d.timeout_s = 300;
        RunChecked({"depmod", "-b", tmp, release}, d);
      }
    }
    fs::copy_file(out + "/arch/x86/boot/bzImage", tmp + "/bzImage");
    fs::copy_file(out + "/vmlinux", tmp + "/vmlinux");
    fs::copy_file(out + "/.config", tmp + "/config");
    fs::copy_file(log, tmp + "/build.log");
    WriteFileAtomic(tmp + "/release", release + "\n");
    Log("kernel " + commit.substr(0, 12) + " built in " + std::to_string(static_cast<int>(Since(t0))) + "s");
  }, "git");
  KernelArtifact k;
  k.package = "git " + spec.repo;
  k.version = commit;
  k.release = ReadFile(dir + "/release");
  k.release = k.release.substr(0, k.release.find('\n'));
  k.sha256 = commit;
  k.id = k.release + "@" + commit.substr(0, 12) + ":" + config_id.substr(0, 8);
  k.dir = dir;
  k.bzimage = dir + "/bzImage";
  k.vmlinux = dir + "/vmlinux";
  k.config = dir + "/config";
  if (fs::is_directory(dir + "/lib/modules/" + k.release)) k.modules_dir = dir + "/lib/modules/" + k.release;
  ReadKernelTraits(ReadFile(k.config), &k);
  return k;
}

namespace {

std::string KeptDir(const std::string& dir, const std::string& commit) { return dir + "/builds/" + commit; }

KernelSpec KeptSpec(const CommandBuild& build, const std::string& kept, const std::string& commit) {
  KernelSpec spec;
  spec.source = "path";
  spec.rev = commit;  // a path kernel that knows its commit is named by it
  spec.image = kept + "/image";
  if (!build.modules.empty()) spec.modules = kept + "/modules";
  if (!build.config.empty()) spec.config = kept + "/config";
  return spec;
}

}  // namespace

bool BuildKept(const std::string& dir, const std::string& commit) {
  return fs::exists(KeptDir(dir, commit) + "/.complete");
}

std::string KeptBuildFile(const std::string& dir, const std::string& commit, const std::string& rel) {
  return KeptDir(dir, commit) + "/kept/" + rel;
}

namespace {

// Checks the commit out, builds it and keeps what it built (see
// BuildWithCommand).
KernelSpec BuildAndKeep(const CommandBuild& build, const std::string& commit, const std::string& dir,
                        const std::string& log) {
  std::string kept = KeptDir(dir, commit);
  std::string checkout = dir + "/checkout";
  MakeDirs(dir + "/builds");
  CheckoutCommit(build.repo, checkout, commit, true);
  CommandOptions o;
  o.cwd = checkout;
  o.timeout_s = 6 * 3600;
  o.env = {"BLACKOUT_COMMIT=" + commit};
  o.cancel = build.cancel;
  std::vector<std::string> argv = {"sh", "-c", build.command};
  if (build.idle_priority) argv.insert(argv.begin(), {"chrt", "--idle", "0"});
  std::string transcript;
  BuildStep(argv, o, commit.substr(0, 12), log, &transcript, false);
  std::string image = checkout + "/" + build.image;
  if (!fs::is_regular_file(image)) {
    throw KernelBuildError("build of " + commit.substr(0, 12) + " left no " + build.image, log);
  }
  // Kept out of the checkout, which the next commit's build reuses; made in
  // a temporary directory and renamed, so a half-kept build is never used.
  std::string tmp = kept + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  MakeDirs(tmp + "/kept");
  auto keep = [&](const std::string& from, const std::string& to, bool required) {
    std::error_code e;
    if (!fs::exists(from, e)) {
      if (required) throw KernelBuildError("build of " + commit.substr(0, 12) + " left no " + from, log);
      return;
    }
    MakeDirs(fs::path(to).parent_path().string());
    fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, e);
    if (e) throw InfraError("keep " + from + " as " + to + ": " + e.message());
  };
  keep(image, tmp + "/image", true);
  if (!build.modules.empty()) keep(checkout + "/" + build.modules, tmp + "/modules", true);
  if (!build.config.empty()) keep(checkout + "/" + build.config, tmp + "/config", true);
  for (const std::string& rel : build.keep) keep(checkout + "/" + rel, tmp + "/kept/" + rel, false);
  WriteFileAtomic(tmp + "/.complete", commit + "\n");
  fs::remove_all(kept, ec);
  fs::rename(tmp, kept, ec);
  if (ec) throw InfraError("keep build " + kept + ": " + ec.message());
  return KeptSpec(build, kept, commit);
}

}  // namespace

KernelSpec BuildWithCommand(const CommandBuild& build, const std::string& commit, const std::string& dir) {
  std::string kept = KeptDir(dir, commit);
  if (BuildKept(dir, commit)) return KeptSpec(build, kept, commit);
  std::string log = dir + "/builds/" + commit + ".log";
  // A commit's failed build is remembered with its message: every later
  // build of it (its run after a build ahead, a resumed bisection) fails the
  // same way at once instead of building again.
  std::string failed = kept + ".failed";
  if (fs::exists(failed)) throw KernelBuildError(ReadFile(failed), log);
  try {
    return BuildAndKeep(build, commit, dir, log);
  } catch (const KernelBuildError& e) {
    try {
      WriteFileAtomic(failed, e.what());
    } catch (const InfraError&) {
      // Not remembered: the next build of it fails again the long way.
    }
    throw;
  }
}

}  // namespace blackout
