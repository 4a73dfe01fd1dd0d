// Debian packages by name through the host's own apt: apt-cache for what a
// name and version mean, apt-get download to fetch them, so Debian and Ubuntu
// hosts use their own archives and signatures.
#pragma once

#include <cstdint>
#include <string>

namespace blackout {

struct AptPackage {
  std::string name;
  std::string version;
  std::string sha256;   // of the .deb, as the archive index states it
  std::string depends;  // raw Depends field
  uint64_t size = 0;
};

// The package record for name (and version, if given). A meta-package such as
// linux-image-amd64 is followed to the versioned kernel package it depends on.
// Throws ConfigError when apt knows no such package.
AptPackage AptResolve(const std::string& name, const std::string& version);

// Downloads pkg into dir with apt-get download, checks its sha256 and returns
// the .deb's path. Throws InfraError with apt's output tail on failure.
std::string AptDownload(const AptPackage& pkg, const std::string& dir);

}  // namespace blackout
