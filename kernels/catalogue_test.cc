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
