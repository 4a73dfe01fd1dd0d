// The kernel catalogue: named kernels and ordered series, from
// kernels/catalogue.yaml (compiled in), so runs, bisections and CI can name
// kernels the way their world does.
#pragma once

#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace blackout {

struct CatalogueKernel {
  std::string name;
  KernelSpec spec;
};

struct CatalogueSeries {
  std::string name;
  std::vector<std::string> kernels;  // oldest first
};

struct Catalogue {
  std::vector<CatalogueKernel> kernels;
  std::vector<CatalogueSeries> series;
  const CatalogueKernel* Find(const std::string& name) const;
  const CatalogueSeries* FindSeries(const std::string& name) const;
};

// The built-in catalogue. A broken built-in is a bug (the unit tests load it).
const Catalogue& BuiltinCatalogue();

// What a command line's kernel name means: a catalogue name, else an apt
// package, optionally "package=version".
KernelSpec KernelSpecByName(const std::string& name);

// Parses catalogue text; throws ConfigError with file:line for every problem
// (unknown source, missing sha256 on a deb, a series naming an unknown kernel).
Catalogue ParseCatalogue(const std::string& text, const std::string& source);

}  // namespace blackout
