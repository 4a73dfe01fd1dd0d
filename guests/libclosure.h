// Shared-library closure of dynamic binaries, for copying them into a bare
// initramfs: what the dynamic loader will open, resolved from the binaries
// themselves (ldd), never from a hand-kept list.
#pragma once

#include <string>
#include <vector>

#include "guests/initramfs.h"

namespace blackout {

// A file the guest needs: where it must be in the guest, and what to copy.
struct LibraryFile {
  std::string guest_path;  // absolute, e.g. /lib/x86_64-linux-gnu/libc.so.6
  std::string host_path;   // the file on the host (symlinks resolved)
};

// Libraries found under a host directory that the guest keeps elsewhere (a
// package unpacked in a cache: host /cache/x/usr/lib/... -> guest /usr/lib/...).
struct LibraryDir {
  std::string host;
  std::string guest;
};

// Every shared library the binaries load, each once: the program loader at
// its PT_INTERP path, the rest where ldd finds them (extra_dirs searched
// first, as LD_LIBRARY_PATH), plus libgcc_s.so.1 from beside libc, which glibc
// dlopens for pthread_cancel and unwinding (a binary aborts without it).
// Static binaries need nothing. Throws InfraError naming the binary and the
// library when one cannot be found.
std::vector<LibraryFile> LibraryClosure(const std::vector<std::string>& binaries,
                                        const std::vector<LibraryDir>& extra_dirs = {});

// Adds each binary at its own path (guest = host path) and its closure.
// Returns the closure, for the record.
std::vector<LibraryFile> AddWithLibraries(Initramfs& img, const std::vector<std::string>& binaries,
                                          const std::vector<LibraryDir>& extra_dirs = {});

// The libraries named in `ldd` output, in order (for tests): resolved paths,
// with "not found" entries reported as InfraError naming `binary`.
std::vector<std::string> ParseLdd(const std::string& output, const std::string& binary);

}  // namespace blackout
