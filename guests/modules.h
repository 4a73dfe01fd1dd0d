// Kernel module closure from a kernel's modules.dep: which .ko files a guest
// needs for a set of module names, in an order in which they load.
#pragma once

#include <string>
#include <vector>

namespace blackout {

// Paths relative to modules_dir (e.g. "kernel/fs/ext4/ext4.ko"), dependencies
// before their users, each once. Names match with '-' and '_' alike. A module
// the kernel has built in (modules.builtin, when the directory has one) needs
// no file and is left out. Throws ConfigError naming a module that is neither
// in modules.dep nor built in.
std::vector<std::string> ModuleClosure(const std::string& modules_dir,
                                       const std::vector<std::string>& names);

// Same, from the texts of a modules.dep and a modules.builtin (for tests).
std::vector<std::string> ModuleClosureFromDep(const std::string& modules_dep, const std::string& modules_builtin,
                                              const std::vector<std::string>& names, const std::string& where);

}  // namespace blackout
