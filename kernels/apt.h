// Debian packages by name through apt: apt-cache for what a name and version
// mean, apt-get download to fetch them. By default through the host's own apt
// (its sources, its keys). A package may instead name its archive (a Debian
// suite, or any Debian-style archive by URL with its keyring): blackout then
// keeps its own apt state for that archive under its cache (sources, lists,
// Packages) and never reads or changes the host's apt configuration, except
// to learn which Debian mirror the host uses for a suite named without a URL.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace blackout {

// Where a package comes from. Empty (no suite): the host's own apt.
struct AptArchive {
  std::string url;    // the archive's base URL; empty: the host's Debian mirror
  std::string suite;  // bullseye, trixie-security, precise-updates
  std::vector<std::string> components = {"main"};
  // The keys the archive's Release must be signed with: a keyring file, or a
  // file inside a keyring package fetched from a Debian suite (ubuntu-keyring
  // from trixie holds Ubuntu's archive keys, the 2012 one included). Empty
  // for a Debian suite: Debian's debian-archive-keyring.gpg.
  std::string keyring;
  std::string keyring_package;  // e.g. ubuntu-keyring
  std::string keyring_suite;    // the Debian suite it comes from, e.g. trixie
  bool host() const { return suite.empty(); }
  // "the host's apt", "bullseye main (the host's Debian mirror)",
  // "http://archive.example/ubuntu precise-updates main".
  std::string Describe() const;
  // Stable across runs: names the archive's state directory.
  std::string Key() const;
};

struct AptPackage {
  std::string name;
  std::string version;
  std::string sha256;   // of the .deb, as the archive index states it
  std::string depends;  // raw Depends field
  uint64_t size = 0;
  std::string architecture;
  AptArchive archive;   // where it was found
};

// The package record for name (and version, if given), from the host's apt or
// from archive (its state under cache_dir, updated first when older than a
// day or missing). A meta-package such as linux-image-amd64 is followed to
// the versioned kernel package it depends on. Throws ConfigError when the
// archive knows no such package, or when its signature does not verify with
// its keyring; InfraError when the archive cannot be reached.
AptPackage AptResolve(const std::string& name, const std::string& version, const AptArchive& archive = {},
                      const std::string& cache_dir = "");

// Downloads pkg into dir with apt-get download (through its archive's state),
// checks its sha256 and returns the .deb's path. Throws InfraError with apt's
// output tail on failure.
std::string AptDownload(const AptPackage& pkg, const std::string& dir, const std::string& cache_dir = "");

// Brings an archive's state up to date now (apt-get update on its own
// sources). Throws as AptResolve does.
void AptUpdateArchive(const AptArchive& archive, const std::string& cache_dir);

// The options that make apt-get or apt-cache use archive's state (updated
// first when older than a day); empty for the host's apt.
std::vector<std::string> AptArchiveOptions(const AptArchive& archive, const std::string& cache_dir);

// Whether an archive answers, without throwing: "" when its index could be
// fetched and verified (or is younger than a day), else the reason in one
// line ("not reachable from this machine: Could not resolve ...").
std::string AptArchiveProblem(const AptArchive& archive, const std::string& cache_dir);

// The Debian mirror URL the host's apt sources use for suite (a -security
// suite: the one they use for security updates), from (file name, text)
// pairs in the one-line (.list) or deb822 (.sources) format. "" when none of
// them names a Debian archive.
std::string DebianMirrorIn(const std::vector<std::pair<std::string, std::string>>& sources,
                           const std::string& suite);

// The same from /etc/apt/sources.list and /etc/apt/sources.list.d, read now.
std::string HostDebianMirror(const std::string& suite);

}  // namespace blackout
