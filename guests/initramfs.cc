#include "guests/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <filesystem>
#include <set>
#include <utility>

#include "base/error.h"
#include "base/fsutil.h"
#include "kernels/deb.h"

namespace blackout {
namespace {

// A temporary name beside path that no other process or thread writing the
// same path uses (runs of --repeat are threads of one process).
std::string UniqueTmp(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
}

std::string Clean(const std::string& path) {
  size_t start = path.find_first_not_of('/');
  return start == std::string::npos ? "" : path.substr(start);
}

}  // namespace

void Initramfs::AddDir(const std::string& path) { entries_.push_back({Entry::kDir, Clean(path), "", 0755}); }

void Initramfs::AddFile(const std::string& path, const std::string& host_path, int mode) {
  entries_.push_back({Entry::kFile, Clean(path), host_path, mode});
}

void Initramfs::AddText(const std::string& path, const std::string& content, int mode) {
  entries_.push_back({Entry::kText, Clean(path), content, mode});
}

void Initramfs::AddSymlink(const std::string& path, const std::string& target) {
  entries_.push_back({Entry::kSymlink, Clean(path), target, 0777});
}

void Initramfs::AddCharDevice(const std::string& path, int major, int minor, int mode) {
  entries_.push_back({Entry::kCharDev, Clean(path), "", mode, major, minor});
}

std::vector<std::string> Initramfs::Paths() const {
  std::set<std::string> all;
  for (const Entry& e : entries_) {
    all.insert(e.path);
    for (size_t slash = e.path.find('/'); slash != std::string::npos;
         slash = e.path.find('/', slash + 1)) {
      all.insert(e.path.substr(0, slash));
    }
  }
  return {all.begin(), all.end()};
}

void Initramfs::Write(const std::string& out_path, bool gzip) const {
  std::string tmp = UniqueTmp(out_path);
  std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
  archive_write_set_format_cpio_newc(a.get());
  if (gzip) {
    archive_write_add_filter_gzip(a.get());
    archive_write_set_filter_option(a.get(), "gzip", "compression-level", "1");
    // No time in the gzip header either: the same contents give the same bytes,
    // so a remote host that holds this image already is not sent it again.
    archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
  } else {
    archive_write_add_filter_none(a.get());
    archive_write_set_bytes_in_last_block(a.get(), 1);  // no padding to libarchive's 10 KiB blocks
  }
  if (archive_write_open_filename(a.get(), tmp.c_str()) != ARCHIVE_OK) {
    throw InfraError("write initramfs " + tmp + ": " + archive_error_string(a.get()));
  }
  std::set<std::string> dirs_done;
  auto header = [&](const std::string& path, mode_t type, int mode, int64_t size) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), static_cast<mode_t>(mode));
    archive_entry_set_size(e.get(), size);
    archive_entry_set_mtime(e.get(), 0, 0);  // reproducible images
    return e;
  };
  auto write_header = [&](archive_entry* e, const std::string& path) {
    if (archive_write_header(a.get(), e) != ARCHIVE_OK) {
      throw InfraError("write initramfs entry " + path + ": " + archive_error_string(a.get()));
    }
  };
  auto ensure_parents = [&](const std::string& path) {
    for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      std::string dir = path.substr(0, slash);
      if (dirs_done.insert(dir).second) {
        auto e = header(dir, AE_IFDIR, 0755, 0);
        write_header(e.get(), dir);
      }
    }
  };
  for (const Entry& en : entries_) {
    ensure_parents(en.path);
    switch (en.kind) {
      case Entry::kDir: {
        if (!dirs_done.insert(en.path).second) break;
        auto e = header(en.path, AE_IFDIR, en.mode, 0);
        write_header(e.get(), en.path);
        break;
      }
      case Entry::kFile:
      case Entry::kText: {
        std::string data = en.kind == Entry::kText ? en.source : ReadFile(en.source);
        auto e = header(en.path, AE_IFREG, en.mode, static_cast<int64_t>(data.size()));
        write_header(e.get(), en.path);
        if (archive_write_data(a.get(), data.data(), data.size()) < 0) {
          throw InfraError("write initramfs data " + en.path + ": " + archive_error_string(a.get()));
        }
        break;
      }
      case Entry::kSymlink: {
        auto e = header(en.path, AE_IFLNK, 0777, 0);
        archive_entry_set_symlink(e.get(), en.source.c_str());
        write_header(e.get(), en.path);
        break;
      }
      case Entry::kCharDev: {
        auto e = header(en.path, AE_IFCHR, en.mode, 0);
        archive_entry_set_rdevmajor(e.get(), static_cast<dev_t>(en.major));
        archive_entry_set_rdevminor(e.get(), static_cast<dev_t>(en.minor));
        write_header(e.get(), en.path);
        break;
      }
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    throw InfraError("finish initramfs " + tmp + ": " + archive_error_string(a.get()));
  }
  if (rename(tmp.c_str(), out_path.c_str()) != 0) {
    throw InfraError("rename " + tmp + ": " + std::strerror(errno));
  }
}

bool Initramfs::WriteCached(const std::string& out_path, const std::string& cache_dir) const {
  bool hit = false;
  std::string cached = Cached(cache_dir, &hit);
  std::string tmp = UniqueTmp(out_path);
  std::error_code ec;
  std::filesystem::copy_file(cached, tmp, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec || rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InfraError("copy initramfs " + cached + " to " + out_path + ": " + (ec ? ec.message() : std::strerror(errno)));
  }
  return hit;
}

std::string Initramfs::Cached(const std::string& cache_dir, bool* hit_out) const {
  // What the image is made of, in order: two images with the same
  // description have the same bytes (Write is reproducible).
  std::string desc = "blackout initramfs 1 cpio-newc gzip-1\n";
  for (const Entry& en : entries_) {
    desc += std::to_string(en.kind) + " " + std::to_string(en.mode) + " " + std::to_string(en.major) + " " +
            std::to_string(en.minor) + " " + std::to_string(en.path.size()) + ":" + en.path + " ";
    if (en.kind == Entry::kFile) {
      struct stat st;
      if (stat(en.source.c_str(), &st) != 0) {
        throw InfraError("initramfs: host file " + en.source + " for " + en.path + ": " + std::strerror(errno));
      }
      desc += en.source + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
              std::to_string(st.st_mtim.tv_nsec) + " " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    } else {
      desc += std::to_string(en.source.size()) + ":" + en.source;
    }
    desc += "\n";
  }
  std::string key = Sha256Text(cache_dir, desc);
  std::string cached = cache_dir + "/" + key + ".cpio.gz";
  bool hit = access(cached.c_str(), R_OK) == 0;
  if (hit) {
    utimensat(AT_FDCWD, cached.c_str(), nullptr, 0);  // newest used: kept longest
  } else {
    Write(cached);
    PruneNewest(cache_dir, kInitramfsImages.ext, kCacheKeep);  // the oldest images beyond kCacheKeep go
  }
  if (hit_out) *hit_out = hit;
  return cached;
}

bool IsStaticElf(const std::string& path) {
  // Only the ELF header and the program headers are read, not the binary.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InfraError("read " + path + ": " + std::strerror(errno));
  auto read_at = [&](void* to, size_t size, uint64_t at) {
    return pread(fd, to, size, static_cast<off_t>(at)) == static_cast<ssize_t>(size);
  };
  Elf64_Ehdr eh;
  bool is_static = read_at(&eh, sizeof eh, 0) && std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
                   eh.e_ident[EI_CLASS] == ELFCLASS64;
  for (int i = 0; is_static && i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!read_at(&ph, sizeof ph, eh.e_phoff + static_cast<uint64_t>(i) * eh.e_phentsize)) is_static = false;
    if (is_static && ph.p_type == PT_INTERP) is_static = false;
  }
  close(fd);
  return is_static;
}

}  // namespace blackout
