#include "kernels/catalogue.h"

#include "base/error.h"
#include "base/yaml_reader.h"
#include "kernels/builtin_catalogue.h"

namespace blackout {

const CatalogueKernel* Catalogue::Find(const std::string& name) const {
  for (const CatalogueKernel& k : kernels) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

const CatalogueSeries* Catalogue::FindSeries(const std::string& name) const {
  for (const CatalogueSeries& s : series) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Catalogue ParseCatalogue(const std::string& text, const std::string& source) {
  Catalogue cat;
  YamlReader r(source);
  auto root = r.Parse(text);
  if (!root) r.Checkpoint();
  r.CheckMap(*root, "catalogue", {"kernels", "series"});
  for (const YAML::Node& k : (*root)["kernels"]) {
    if (!r.CheckMap(k, "kernel", {"name", "source", "package", "version", "deb", "sha256", "image", "modules", "config"})) {
      continue;
    }
    CatalogueKernel ck;
    ck.name = r.String(k, "name").value_or("");
    if (ck.name.empty()) r.Error(k, "a kernel needs a 'name'");
    std::string src = r.String(k, "source").value_or("apt");
    ck.spec.source = src;
    if (src == "apt") {
      auto p = r.String(k, "package");
      if (!p) r.Error(k, "an apt kernel needs 'package'");
      ck.spec.package = p.value_or("");
      ck.spec.version = r.String(k, "version").value_or("");
    } else if (src == "deb") {
      ck.spec.deb = r.String(k, "deb").value_or("");
      ck.spec.sha256 = r.String(k, "sha256").value_or("");
      if (ck.spec.deb.empty()) r.Error(k, "a deb kernel needs 'deb' (a path to the .deb)");
      if (ck.spec.sha256.size() != 64) r.Error(k, "a deb kernel needs its 'sha256' (64 hex digits)");
    } else if (src == "path") {
      ck.spec.image = r.String(k, "image").value_or("");
      ck.spec.modules = r.String(k, "modules").value_or("");
      ck.spec.config = r.String(k, "config").value_or("");
      if (ck.spec.image.empty()) r.Error(k, "a path kernel needs 'image'");
    } else {
      r.Error(k["source"], "unknown kernel source '" + src + "' (known: apt, deb, path)");
    }
    if (cat.Find(ck.name)) r.Error(k, "kernel '" + ck.name + "' is named twice");
    cat.kernels.push_back(ck);
  }
  for (const YAML::Node& s : (*root)["series"]) {
    if (!r.CheckMap(s, "series", {"name", "kernels"})) continue;
    CatalogueSeries cs;
    cs.name = r.String(s, "name").value_or("");
    for (const YAML::Node& k : s["kernels"]) {
      if (!k.IsScalar() || !cat.Find(k.Scalar())) {
        r.Error(k, "series '" + cs.name + "' names an unknown kernel");
        continue;
      }
      cs.kernels.push_back(k.Scalar());
    }
    if (cs.kernels.size() < 2) r.Error(s, "series '" + cs.name + "' needs at least two kernels");
    cat.series.push_back(cs);
  }
  r.Checkpoint();
  return cat;
}

const Catalogue& BuiltinCatalogue() {
  static const Catalogue cat = ParseCatalogue(kBuiltinCatalogueFiles[0].text, "<builtin catalogue.yaml>");
  return cat;
}

KernelSpec KernelSpecByName(const std::string& name) {
  if (const CatalogueKernel* k = BuiltinCatalogue().Find(name)) return k->spec;
  KernelSpec s;
  size_t eq = name.find('=');
  s.package = name.substr(0, eq);
  s.version = eq == std::string::npos ? "" : name.substr(eq + 1);
  return s;
}

}  // namespace blackout
