// Reading Debian packages with libarchive: the ar container, then its
// data.tar.* member, streamed (a kernel package is ~70 MB of xz).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace blackout {

// Extracts the members of deb's data archive whose path (without a leading
// "./") `want` accepts into dest_dir, keeping their relative paths. Refuses
// absolute paths and "..". Returns how many entries were written. Throws
// InfraError naming the package on a malformed archive.
int ExtractDeb(const std::string& deb_path, const std::string& dest_dir,
               const std::function<bool(const std::string& path)>& want);

// The fields of the package's DEBIAN/control (Package, Version, ...).
std::map<std::string, std::string> ReadDebControl(const std::string& deb_path);

// Decompresses a whole gzip file (Xen ships xen-*.gz) into out_path.
void GunzipFile(const std::string& gz_path, const std::string& out_path);
// gzip (level 1: made once per kernel, read by libxc's fast gzip path).
// Written to a sibling temporary and renamed: readers see all or nothing.
void GzipFile(const std::string& path, const std::string& gz_path);

// Hex SHA-256 of a file.
std::string Sha256File(const std::string& path);
// Hex SHA-256 of text, through a temporary file in dir (made if missing;
// the temporary's name holds ".tmp.", and it is removed after).
std::string Sha256Text(const std::string& dir, const std::string& text);
// The same for many files, in the order given, through one sha256sum per
// few hundred files (a kernel's modules are thousands).
std::vector<std::string> Sha256Files(const std::vector<std::string>& paths);

}  // namespace blackout
