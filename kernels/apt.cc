#include "kernels/apt.h"

#include <filesystem>
#include <regex>
#include <sstream>

#include "base/error.h"
#include "base/subprocess.h"
#include "kernels/deb.h"

namespace blackout {
namespace {

std::string Field(const std::string& record, const std::string& key) {
  std::istringstream in(record);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ": ", 0) == 0) return line.substr(key.size() + 2);
  }
  return "";
}

AptPackage Show(const std::string& name, const std::string& version) {
  std::string what = version.empty() ? name : name + "=" + version;
  CommandOptions opts;
  opts.timeout_s = 120;
  CommandResult r = RunCommand({"apt-cache", "show", "--no-all-versions", what}, opts);
  if (!r.ok() || Field(r.output, "Package").empty()) {
    throw ConfigError({"find package " + what + ": apt knows no such package" +
                       (version.empty() ? "" : " version") +
                       " (run apt-get update, or check the name)\n" + OutputTail(r.output, 3)});
  }
  AptPackage p;
  p.name = Field(r.output, "Package");
  p.version = Field(r.output, "Version");
  p.sha256 = Field(r.output, "SHA256");
  p.depends = Field(r.output, "Depends");
  p.size = std::strtoull(Field(r.output, "Size").c_str(), nullptr, 10);
  return p;
}

}  // namespace

AptPackage AptResolve(const std::string& name, const std::string& version) {
  AptPackage p = Show(name, version);
  // Meta-packages (linux-image-amd64, linux-image-virtual) depend on the real,
  // versioned image; follow one level.
  static const std::regex versioned(R"(^linux-image-[0-9])");
  static const std::regex dep(R"((linux-image-[0-9][^ ,|]*))");
  std::smatch m;
  if (!std::regex_search(p.name, versioned) && std::regex_search(p.depends, m, dep)) {
    return Show(m[1].str(), "");
  }
  return p;
}

std::string AptDownload(const AptPackage& pkg, const std::string& dir) {
  CommandOptions opts;
  opts.timeout_s = 900;
  opts.cwd = dir;
  RunChecked({"apt-get", "download", "-q", pkg.name + "=" + pkg.version}, opts);
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string file = e.path().filename().string();
    if (file.rfind(pkg.name + "_", 0) == 0 && e.path().extension() == ".deb") {
      if (!pkg.sha256.empty()) {
        std::string got = Sha256File(e.path().string());
        if (got != pkg.sha256) {
          throw InfraError("download " + pkg.name + "=" + pkg.version + ": sha256 " + got +
                           " does not match the archive index's " + pkg.sha256);
        }
      }
      return e.path().string();
    }
  }
  throw InfraError("download " + pkg.name + "=" + pkg.version + ": apt-get reported success but no .deb in " + dir);
}

}  // namespace blackout
