#include "kernels/catalogue.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace blackout {
namespace {

TEST(Catalogue, BuiltinHasTheDebianSeries) {
  const Catalogue& c = BuiltinCatalogue();
  const CatalogueSeries* s = c.FindSeries("debian-6.1");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kernels.size(), 11u);
  EXPECT_EQ(s->kernels.front(), "debian-6.1.0-47");
  const CatalogueKernel* k = c.Find("debian-6.1.0-50");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->spec.source, "apt");
  EXPECT_EQ(k->spec.package, "linux-image-6.1.0-50-amd64");
  EXPECT_EQ(k->spec.version, "6.1.176-1");
}

TEST(Catalogue, BuiltinSpansTheEras) {
  const Catalogue& c = BuiltinCatalogue();
  // Debian 11, 12 and 13, each by name, from their own suites.
  for (const auto& [name, suite] : std::vector<std::pair<std::string, std::string>>{
           {"debian-11", "bullseye"}, {"debian-12", "bookworm-security"}, {"debian-13", "trixie"}}) {
    const CatalogueKernel* k = c.Find(name);
    ASSERT_NE(k, nullptr) << name;
    EXPECT_EQ(k->spec.archive.suite, suite);
    EXPECT_TRUE(k->spec.archive.url.empty()) << "a Debian suite comes from the host's mirror";
  }
  // Their hypervisors.
  for (const auto& [name, package] : std::vector<std::pair<std::string, std::string>>{
           {"xen-4.14", "xen-hypervisor-4.14-amd64"}, {"xen-4.17", "xen-hypervisor-4.17-amd64"},
           {"xen-4.20", "xen-hypervisor-4.20-amd64"}}) {
    const CatalogueXen* x = c.FindXen(name);
    ASSERT_NE(x, nullptr) << name;
    EXPECT_EQ(x->spec.package, package);
  }
  // The 2013 pair, exactly, with their archive and keys; a fix-search series.
  const CatalogueKernel* froze = c.Find("ubuntu-3.2.0-38-virtual");
  const CatalogueKernel* fixed = c.Find("ubuntu-3.2.0-39-virtual");
  ASSERT_NE(froze, nullptr);
  ASSERT_NE(fixed, nullptr);
  EXPECT_EQ(froze->spec.package, "linux-image-3.2.0-38-virtual");
  EXPECT_EQ(froze->spec.version, "3.2.0-38.61");
  EXPECT_EQ(fixed->spec.package, "linux-image-3.2.0-39-virtual");
  EXPECT_EQ(fixed->spec.version, "3.2.0-39.62");
  EXPECT_EQ(fixed->spec.archive.url, "http://old-releases.ubuntu.com/ubuntu");
  EXPECT_EQ(fixed->spec.archive.suite, "precise-updates");
  EXPECT_EQ(fixed->spec.archive.keyring_package, "ubuntu-keyring");
  EXPECT_EQ(KernelEra(fixed->spec.version), "Linux 3.2");
  const CatalogueSeries* pair = c.FindSeries("ubuntu-precise-3.2");
  ASSERT_NE(pair, nullptr);
  EXPECT_EQ(pair->kernels, (std::vector<std::string>{"ubuntu-3.2.0-38-virtual", "ubuntu-3.2.0-39-virtual"}));
  EXPECT_EQ(XenSpecByName("xen-4.14").archive.suite, "bullseye");
  EXPECT_EQ(XenSpecByName("xen-hypervisor-4.17-amd64=4.17.1").version, "4.17.1");
}

TEST(Catalogue, ArchiveProblemsWithTheirLines) {
  try {
    ParseCatalogue(R"(kernels:
  - {name: a, package: p, archive: "http://a.example/ubuntu", suite: precise}
  - {name: b, package: p, archive: a.example, suite: x, keyring: /k.gpg}
  - {name: c, package: p, keyring: {package: ubuntu-keyring}}
  - {name: d, package: p, suite: s, components: main}
xen:
  - {name: x, version: 1}
  - {name: y, package: p, suite: "sid main\ndeb http://x.example/ sid"}
)",
                   "cat.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 7u) << e.what();
    EXPECT_EQ(e.problems()[6].rfind("cat.yaml:8:34: 'sid main", 0), 0u) << e.problems()[6];
    EXPECT_EQ(e.problems()[0], "cat.yaml:2:5: an archive named by URL needs a 'keyring' to check its signature with");
    EXPECT_EQ(e.problems()[1].rfind("cat.yaml:3:36: 'archive' must be a URL", 0), 0u) << e.problems()[1];
    EXPECT_EQ(e.problems()[2].rfind("cat.yaml:4:36: a keyring package needs 'package', 'suite'", 0), 0u)
        << e.problems()[2];
    EXPECT_EQ(e.problems()[3].rfind("cat.yaml:4:5: an archive needs its 'suite'", 0), 0u) << e.problems()[3];
    EXPECT_EQ(e.problems()[4].rfind("cat.yaml:5:49: 'components' must be a list", 0), 0u) << e.problems()[4];
    EXPECT_EQ(e.problems()[5].rfind("cat.yaml:7:5: a Xen needs its hypervisor 'package'", 0), 0u) << e.problems()[5];
  }
}

TEST(Catalogue, EveryProblemWithItsLine) {
  try {
    ParseCatalogue(R"(kernels:
  - {name: a, source: apt, package: p}
  - {name: b, source: deb, deb: /x.deb}
  - {name: c, source: ftp}
series:
  - {name: s, kernels: [a, nosuch]}
)",
                   "cat.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 4u);
    EXPECT_EQ(e.problems()[0], "cat.yaml:3:5: a deb kernel needs its 'sha256' (64 hex digits)");
    EXPECT_EQ(e.problems()[1].rfind("cat.yaml:4:23: unknown kernel source 'ftp'", 0), 0u) << e.problems()[1];
    EXPECT_EQ(e.problems()[2].rfind("cat.yaml:6:28: series 's' names an unknown kernel", 0), 0u) << e.problems()[2];
    EXPECT_EQ(e.problems()[3].rfind("cat.yaml:6:5: series 's' needs at least two kernels", 0), 0u) << e.problems()[3];
  }
}

}  // namespace
}  // namespace blackout
