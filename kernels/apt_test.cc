#include "kernels/apt.h"

#include <gtest/gtest.h>

namespace blackout {
namespace {

// Host sources in both formats; the URLs are placeholders, as the host's are
// never written into blackout.
const char kDeb822[] = R"(Types: deb deb-src
# a comment
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
)";

TEST(DebianMirror, Deb822PicksTheMainMirrorAndTheSecurityOne) {
  std::vector<std::pair<std::string, std::string>> sources = {{"debian.sources", kDeb822}};
  EXPECT_EQ(DebianMirrorIn(sources, "bullseye"), "http://mirror.example/debian");
  EXPECT_EQ(DebianMirrorIn(sources, "trixie"), "http://mirror.example/debian");
  EXPECT_EQ(DebianMirrorIn(sources, "bullseye-security"), "http://security.example/debian-security");
}

TEST(DebianMirror, OneLineFormatWithOptions) {
  std::vector<std::pair<std::string, std::string>> sources = {
      {"sources.list", "# deb http://commented.example/debian bookworm main\n"
                       "deb-src http://src.example/debian bookworm main\n"
                       "deb [arch=amd64 signed-by=/k.gpg] http://list.example/debian bookworm main contrib\n"}};
  EXPECT_EQ(DebianMirrorIn(sources, "bullseye"), "http://list.example/debian");
  EXPECT_EQ(DebianMirrorIn(sources, "bullseye-security"), "");
}

TEST(DebianMirror, UbuntuAndDisabledSourcesAreNotDebian) {
  std::vector<std::pair<std::string, std::string>> sources = {
      {"ubuntu.sources", "Types: deb\nURIs: http://ubuntu.example/ubuntu\nSuites: jammy jammy-updates\n"},
      {"off.sources", "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n"}};
  EXPECT_EQ(DebianMirrorIn(sources, "bullseye"), "");
}

TEST(AptArchive, DescribesAndKeysWhereItComesFrom) {
  AptArchive host;
  EXPECT_TRUE(host.host());
  EXPECT_EQ(host.Describe(), "the host's apt");
  AptArchive bullseye;
  bullseye.suite = "bullseye";
  EXPECT_EQ(bullseye.Describe(), "bullseye main (the host's Debian mirror)");
  EXPECT_EQ(bullseye.Key(), "debian_bullseye_main");
  AptArchive precise;
  precise.url = "http://archive.example/ubuntu";
  precise.suite = "precise-updates";
  precise.components = {"main", "universe"};
  EXPECT_EQ(precise.Describe(), "http://archive.example/ubuntu precise-updates main universe");
  EXPECT_EQ(precise.Key(), "archive.example_ubuntu_precise-updates_main+universe");
  // Another keyring is another state: an index one keyring verified is not
  // vouched for by another.
  AptArchive removed = bullseye;
  removed.keyring = "/usr/share/keyrings/debian-archive-removed-keys.gpg";
  EXPECT_NE(removed.Key(), bullseye.Key());
  EXPECT_EQ(removed.Key().rfind("debian_bullseye_main_debian-archive-removed-keys-", 0), 0u) << removed.Key();
}

}  // namespace
}  // namespace blackout
