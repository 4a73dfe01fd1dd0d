#include "guests/libclosure.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/subprocess.h"

namespace blackout {

std::vector<std::string> ParseLdd(const std::string& output, const std::string& binary) {
  std::vector<std::string> out;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    // "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)"
    // "\t/lib64/ld-linux-x86-64.so.2 (0x...)"   "\tlinux-vdso.so.1 (0x...)"
    // "\tlibfoo.so.2 => not found"              "\tnot a dynamic executable"
    size_t arrow = line.find(" => ");
    std::string path;
    if (arrow != std::string::npos) {
      std::string rest = line.substr(arrow + 4);
      if (rest.compare(0, 9, "not found") == 0) {
        std::string name = line.substr(0, arrow);
        name.erase(0, name.find_first_not_of(" \t"));
        throw InfraError("resolve the libraries of " + binary + ": " + name +
                         " not found (install the package that provides it)");
      }
      path = rest.substr(0, rest.find(" ("));
    } else {
      size_t start = line.find_first_not_of(" \t");
      if (start == std::string::npos || line[start] != '/') continue;  // vdso, static, blank
      path = line.substr(start, line.find(" (", start) - start);
    }
    if (!path.empty() && path[0] == '/') out.push_back(path);
  }
  return out;
}

std::vector<LibraryFile> LibraryClosure(const std::vector<std::string>& binaries,
                                        const std::vector<LibraryDir>& extra_dirs) {
  namespace fs = std::filesystem;
  CommandOptions options;
  options.timeout_s = 60;
  if (!extra_dirs.empty()) {
    std::string path;
    for (const LibraryDir& d : extra_dirs) path += (path.empty() ? "" : ":") + d.host;
    options.env.push_back("LD_LIBRARY_PATH=" + path);
  }
  std::vector<LibraryFile> out;
  std::set<std::string> seen;
  std::string libc;
  auto add = [&](const std::string& found) {
    std::string guest = found;
    for (const LibraryDir& d : extra_dirs) {
      if (found.compare(0, d.host.size() + 1, d.host + "/") == 0) guest = d.guest + found.substr(d.host.size());
    }
    if (!seen.insert(guest).second) return;
    std::error_code ec;
    std::string real = fs::canonical(found, ec).string();
    if (ec) throw InfraError("resolve " + found + ": " + ec.message());
    out.push_back({guest, real});
    if (fs::path(found).filename() == "libc.so.6") libc = real;
  };
  for (const std::string& binary : binaries) {
    if (!fs::is_regular_file(binary)) throw InfraError("copy " + binary + " into the guest: no such file");
    CommandResult r = RunCommand({"ldd", binary}, options);
    if (r.output.find("not a dynamic executable") != std::string::npos) continue;
    if (!r.ok()) {
      throw InfraError("run " + CommandLine({"ldd", binary}) + ": exit " + std::to_string(r.exit_code) + "\n" +
                       OutputTail(r.output));
    }
    for (const std::string& lib : ParseLdd(r.output, binary)) add(lib);
  }
  if (!libc.empty()) {
    std::string gcc = (fs::path(libc).parent_path() / "libgcc_s.so.1").string();
    if (!fs::exists(gcc)) {
      throw InfraError("find libgcc_s.so.1 beside " + libc +
                       ": glibc loads it at run time (install libgcc-s1)");
    }
    std::string guest = "/lib/x86_64-linux-gnu/libgcc_s.so.1";
    for (const LibraryFile& f : out) {
      if (fs::path(f.guest_path).filename() == "libc.so.6") {
        guest = (fs::path(f.guest_path).parent_path() / "libgcc_s.so.1").string();
      }
    }
    if (seen.insert(guest).second) out.push_back({guest, fs::canonical(gcc).string()});
  }
  return out;
}

std::vector<LibraryFile> AddWithLibraries(Initramfs& img, const std::vector<std::string>& binaries,
                                          const std::vector<LibraryDir>& extra_dirs) {
  std::vector<LibraryFile> libs = LibraryClosure(binaries, extra_dirs);
  for (const std::string& b : binaries) img.AddFile(b.substr(1), b, 0755);
  for (const LibraryFile& f : libs) img.AddFile(f.guest_path.substr(1), f.host_path, 0755);
  return libs;
}

}  // namespace blackout
