#include "guests/modules.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/fsutil.h"

namespace blackout {
namespace {

std::string Canonical(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// "kernel/fs/ext4/ext4.ko" or ".ko.xz" -> "ext4"
std::string ModuleName(const std::string& path) {
  std::string base = path.substr(path.rfind('/') + 1);
  return Canonical(base.substr(0, base.find(".ko")));
}

}  // namespace

std::vector<std::string> ModuleClosureFromDep(const std::string& modules_dep, const std::string& modules_builtin,
                                              const std::vector<std::string>& names, const std::string& where) {
  std::set<std::string> builtin;
  std::istringstream builtin_lines(modules_builtin);
  for (std::string line; std::getline(builtin_lines, line);) {
    if (!line.empty()) builtin.insert(ModuleName(line));
  }
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> dep;  // name -> path, deps
  std::istringstream in(modules_dep);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string path = line.substr(0, colon);
    std::istringstream rest(line.substr(colon + 1));
    std::vector<std::string> deps;
    std::string d;
    while (rest >> d) deps.push_back(d);
    dep[ModuleName(path)] = {path, deps};
  }
  std::vector<std::string> order;
  std::set<std::string> done;
  std::vector<std::string> missing;
  for (const std::string& name : names) {
    auto it = dep.find(Canonical(name));
    if (it == dep.end()) {
      if (builtin.count(Canonical(name))) continue;
      missing.push_back(where + ": no module '" + name + "' in modules.dep" +
                        (modules_builtin.empty() ? "" : " or modules.builtin"));
      continue;
    }
    // modules.dep lists the full transitive closure, later entries needed by
    // earlier ones: load them from the end.
    const auto& [path, deps] = it->second;
    for (auto d = deps.rbegin(); d != deps.rend(); ++d) {
      if (done.insert(*d).second) order.push_back(*d);
    }
    if (done.insert(path).second) order.push_back(path);
  }
  if (!missing.empty()) throw ConfigError(missing);
  return order;
}

std::vector<std::string> ModuleClosure(const std::string& modules_dir,
                                       const std::vector<std::string>& names) {
  std::string dep_path = modules_dir + "/modules.dep";
  std::string builtin_path = modules_dir + "/modules.builtin";
  std::string builtin = std::filesystem::is_regular_file(builtin_path) ? ReadFile(builtin_path) : "";
  return ModuleClosureFromDep(ReadFile(dep_path), builtin, names, dep_path);
}

}  // namespace blackout
