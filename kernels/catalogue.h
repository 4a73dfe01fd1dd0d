// The kernel catalogue: named kernels and ordered series, from
// kernels/catalogue.yaml (compiled in), so runs, bisections and CI can name
// kernels the way their world does.
#pragma once

#include <string>
#include <vector>

#include "base/yaml_reader.h"
#include "kernels/kernel.h"

namespace blackout {

struct CatalogueKernel {
  std::string name;
  KernelSpec spec;
  std::string era;  // "Debian 11 (bullseye), Linux 5.10"; empty: from the version
};

struct CatalogueXen {
  std::string name;  // xen-4.14
  XenSpec spec;
  std::string era;
};

struct CatalogueSeries {
  std::string name;
  std::vector<std::string> kernels;  // oldest first
};

struct Catalogue {
  std::vector<CatalogueKernel> kernels;
  std::vector<CatalogueXen> xens;
  std::vector<CatalogueSeries> series;
  const CatalogueKernel* Find(const std::string& name) const;
  const CatalogueXen* FindXen(const std::string& name) const;
  const CatalogueSeries* FindSeries(const std::string& name) const;
};

// The built-in catalogue. A broken built-in is a bug (the unit tests load it).
const Catalogue& BuiltinCatalogue();

// What a command line's kernel name means: a catalogue name, else an apt
// package, optionally "package=version".
KernelSpec KernelSpecByName(const std::string& name);

// A Xen named on the command line or in a config: a catalogue name (xen-4.14),
// else a hypervisor package, optionally "package=version".
XenSpec XenSpecByName(const std::string& name);

// The archive fields of an apt kernel or Xen mapping (suite, archive,
// components, keyring) into *archive; problems go to the reader. Keys it
// reads, for CheckMap's lists: kArchiveKeys.
inline const std::vector<std::string> kArchiveKeys = {"suite", "archive", "components", "keyring"};
void ParseAptArchive(const YAML::Node& node, YamlReader& reader, AptArchive* archive);

// "Linux 5.10" from a kernel's package version (5.10.223-1, 3.2.0-38.61).
std::string KernelEra(const std::string& version);

// Parses catalogue text; throws ConfigError with file:line for every problem
// (unknown source, missing sha256 on a deb, a series naming an unknown kernel).
Catalogue ParseCatalogue(const std::string& text, const std::string& source);

}  // namespace blackout
