#include "guests/modules.h"

#include <algorithm>
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

std::vector<std::string> ModuleClosureFromDep(const std::string& modules_dep,
                                              const std::vector<std::string>& names,
                                              const std::string& where) {
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
      missing.push_back(where + ": no module '" + name + "' in modules.dep");
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
  return ModuleClosureFromDep(ReadFile(dep_path), names, dep_path);
}

}  // namespace blackout
