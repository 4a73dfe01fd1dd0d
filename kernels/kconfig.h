// Kernel config text: fragments merged the way the kernel's
// scripts/kconfig/merge_config.sh merges them, and the check that a resolved
// .config kept what the fragments asked for.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace blackout {

// Symbol -> value for every setting in a config text: "y", "m", a number or a
// quoted string, or "n" for "# CONFIG_X is not set". Keys without CONFIG_.
std::map<std::string, std::string> ConfigSettings(const std::string& text);

// base with each fragment applied in order: a later setting of a symbol
// replaces the earlier one in place; new symbols are appended.
std::string MergeConfig(const std::string& base, const std::vector<std::string>& fragments);

// What the fragments set that `config` (after `make olddefconfig`) does not
// hold, as "CONFIG_X=y (resolved: n)", in fragment order.
std::vector<std::string> MissingOptions(const std::string& config, const std::vector<std::string>& fragments);

}  // namespace blackout
