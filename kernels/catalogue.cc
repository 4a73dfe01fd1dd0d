#include "kernels/catalogue.h"

#include <regex>

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

const CatalogueXen* Catalogue::FindXen(const std::string& name) const {
  for (const CatalogueXen& x : xens) {
    if (x.name == name) return &x;
  }
  return nullptr;
}

const CatalogueSeries* Catalogue::FindSeries(const std::string& name) const {
  for (const CatalogueSeries& s : series) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void ParseAptArchive(const YAML::Node& n, YamlReader& r, AptArchive* a) {
  *a = AptArchive();
  a->suite = r.String(n, "suite").value_or("");
  a->url = r.String(n, "archive").value_or("");
  if (YAML::Node c = n["components"]; c.IsDefined()) {
    a->components.clear();
    if (!c.IsSequence() || c.size() == 0) r.Error(c, "'components' must be a list such as [main]");
    for (const YAML::Node& x : c) {
      if (!x.IsScalar() || x.Scalar().empty()) {
        r.Error(x, "a component is a name such as main");
        continue;
      }
      a->components.push_back(x.Scalar());
    }
  }
  if (YAML::Node k = n["keyring"]; k.IsDefined()) {
    if (k.IsScalar()) {
      a->keyring = k.Scalar();
    } else if (r.CheckMap(k, "keyring", {"package", "suite", "file"})) {
      a->keyring_package = r.String(k, "package").value_or("");
      a->keyring_suite = r.String(k, "suite").value_or("");
      a->keyring = r.String(k, "file").value_or("");
      if (a->keyring_package.empty() || a->keyring_suite.empty() || a->keyring.empty()) {
        r.Error(k, "a keyring package needs 'package', 'suite' (the Debian suite it comes from) and 'file' (the "
                   "keyring's path inside it)");
      }
    }
  }
  // Each becomes a word of a sources.list line blackout writes.
  static const std::regex word(R"(^[A-Za-z0-9][A-Za-z0-9._/+~-]*$)");
  if (!a->suite.empty() && !std::regex_match(a->suite, word)) r.Error(n["suite"], "'" + a->suite + "' is not a suite name");
  for (const std::string& c : a->components) {
    if (!std::regex_match(c, word)) r.Error(n["components"], "'" + c + "' is not a component name");
  }
  if (a->url.find_first_of(" \t\n[]#") != std::string::npos) r.Error(n["archive"], "'archive' must be a URL without spaces");
  if (a->suite.empty() && (!a->url.empty() || n["components"].IsDefined() || n["keyring"].IsDefined())) {
    r.Error(n, "an archive needs its 'suite' (such as bullseye or precise-updates)");
  }
  if (!a->url.empty() && a->url.find("://") == std::string::npos) {
    r.Error(n["archive"], "'archive' must be a URL (http://, https:// or file://), not '" + a->url + "'");
  }
  if (!a->url.empty() && a->keyring.empty()) {
    r.Error(n, "an archive named by URL needs a 'keyring' to check its signature with");
  }
}

std::string KernelEra(const std::string& version) {
  size_t dot = version.find('.');
  if (dot == std::string::npos) return "";
  size_t end = version.find_first_not_of("0123456789", dot + 1);
  if (end == dot + 1) return "";
  return "Linux " + version.substr(0, end);
}

Catalogue ParseCatalogue(const std::string& text, const std::string& source) {
  Catalogue cat;
  YamlReader r(source);
  auto root = r.Parse(text);
  if (!root) r.Checkpoint();
  r.CheckMap(*root, "catalogue", {"kernels", "xen", "series"});
  std::vector<std::string> kernel_keys = {"name", "era", "source", "package", "version", "deb", "sha256", "image",
                                          "modules", "config"};
  kernel_keys.insert(kernel_keys.end(), kArchiveKeys.begin(), kArchiveKeys.end());
  for (const YAML::Node& k : (*root)["kernels"]) {
    if (!r.CheckMap(k, "kernel", kernel_keys)) continue;
    CatalogueKernel ck;
    ck.name = r.String(k, "name").value_or("");
    ck.era = r.String(k, "era").value_or("");
    if (ck.name.empty()) r.Error(k, "a kernel needs a 'name'");
    std::string src = r.String(k, "source").value_or("apt");
    ck.spec.source = src;
    if (src != "apt" && (k["suite"].IsDefined() || k["archive"].IsDefined())) {
      r.Error(k, "only an apt kernel comes from an archive");
    }
    if (src == "apt") {
      auto p = r.String(k, "package");
      if (!p) r.Error(k, "an apt kernel needs 'package'");
      ck.spec.package = p.value_or("");
      ck.spec.version = r.String(k, "version").value_or("");
      ParseAptArchive(k, r, &ck.spec.archive);
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
  std::vector<std::string> xen_keys = {"name", "era", "package", "version"};
  xen_keys.insert(xen_keys.end(), kArchiveKeys.begin(), kArchiveKeys.end());
  for (const YAML::Node& x : (*root)["xen"]) {
    if (!r.CheckMap(x, "xen", xen_keys)) continue;
    CatalogueXen cx;
    cx.name = r.String(x, "name").value_or("");
    cx.era = r.String(x, "era").value_or("");
    if (cx.name.empty()) r.Error(x, "a Xen needs a 'name'");
    auto p = r.String(x, "package");
    if (!p) r.Error(x, "a Xen needs its hypervisor 'package' (xen-hypervisor-4.17-amd64)");
    cx.spec.package = p.value_or("");
    cx.spec.version = r.String(x, "version").value_or("");
    ParseAptArchive(x, r, &cx.spec.archive);
    if (cat.FindXen(cx.name)) r.Error(x, "Xen '" + cx.name + "' is named twice");
    cat.xens.push_back(cx);
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

XenSpec XenSpecByName(const std::string& name) {
  if (const CatalogueXen* x = BuiltinCatalogue().FindXen(name)) return x->spec;
  XenSpec s;
  size_t eq = name.find('=');
  s.package = name.substr(0, eq);
  s.version = eq == std::string::npos ? "" : name.substr(eq + 1);
  return s;
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
