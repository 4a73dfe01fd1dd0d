#include "kernels/deb.h"

#include <unistd.h>
#include <zlib.h>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"

namespace blackout {
namespace {

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

std::string ArchiveError(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

// Feeds the current entry of an outer archive to an inner one.
struct Nested {
  archive* outer;
  std::vector<char> buf = std::vector<char>(1 << 16);
};

la_ssize_t NestedRead(archive*, void* data, const void** block) {
  auto* n = static_cast<Nested*>(data);
  *block = n->buf.data();
  return archive_read_data(n->outer, n->buf.data(), n->buf.size());
}

}  // namespace

int ExtractDeb(const std::string& deb_path, const std::string& dest_dir,
               const std::function<bool(const std::string& path)>& want) {
  ArchivePtr outer(archive_read_new(), archive_read_free);
  archive_read_support_format_ar(outer.get());
  if (archive_read_open_filename(outer.get(), deb_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    throw InfraError("open package " + deb_path + ": " + ArchiveError(outer.get()));
  }
  archive_entry* entry;
  while (archive_read_next_header(outer.get(), &entry) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(entry);
    if (name.rfind("data.tar", 0) != 0) continue;

    Nested nested{outer.get()};
    ArchivePtr inner(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(inner.get());
    archive_read_support_filter_all(inner.get());
    if (archive_read_open(inner.get(), &nested, nullptr, NestedRead, nullptr) != ARCHIVE_OK) {
      throw InfraError("open " + name + " in " + deb_path + ": " + ArchiveError(inner.get()));
    }
    ArchivePtr disk(archive_write_disk_new(), archive_write_free);
    archive_write_disk_set_options(disk.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                   ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                   ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    int written = 0;
    archive_entry* e;
    int r;
    while ((r = archive_read_next_header(inner.get(), &e)) == ARCHIVE_OK) {
      std::string path = archive_entry_pathname(e);
      if (path.rfind("./", 0) == 0) path = path.substr(2);
      if (path.empty() || !want(path)) continue;
      // We rebase every path under dest_dir ourselves, so refuse what could
      // escape it (libarchive's own absolute-path guard would trip on dest_dir).
      if (path[0] == '/' || path.find("..") != std::string::npos) {
        throw InfraError("extract " + deb_path + ": unsafe path '" + path + "' in the package");
      }
      archive_entry_set_pathname(e, (dest_dir + "/" + path).c_str());
      // Hard links name their target by archive path: rebase it too.
      if (const char* hl = archive_entry_hardlink(e)) {
        std::string target = hl;
        if (target.rfind("./", 0) == 0) target = target.substr(2);
        archive_entry_set_hardlink(e, (dest_dir + "/" + target).c_str());
      }
      if (archive_write_header(disk.get(), e) != ARCHIVE_OK) {
        throw InfraError("extract " + path + " from " + deb_path + ": " + ArchiveError(disk.get()));
      }
      const void* block;
      size_t size;
      la_int64_t offset;
      while ((r = archive_read_data_block(inner.get(), &block, &size, &offset)) == ARCHIVE_OK) {
        if (archive_write_data_block(disk.get(), block, size, offset) != ARCHIVE_OK) {
          throw InfraError("write " + path + ": " + ArchiveError(disk.get()));
        }
      }
      if (r != ARCHIVE_EOF) {
        throw InfraError("read " + path + " from " + deb_path + ": " + ArchiveError(inner.get()));
      }
      archive_write_finish_entry(disk.get());
      ++written;
    }
    if (r != ARCHIVE_EOF) {
      throw InfraError("read " + name + " in " + deb_path + ": " + ArchiveError(inner.get()));
    }
    return written;
  }
  throw InfraError("read package " + deb_path + ": no data.tar member (not a .deb?)");
}

std::map<std::string, std::string> ReadDebControl(const std::string& deb_path) {
  ArchivePtr outer(archive_read_new(), archive_read_free);
  archive_read_support_format_ar(outer.get());
  if (archive_read_open_filename(outer.get(), deb_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    throw InfraError("open package " + deb_path + ": " + ArchiveError(outer.get()));
  }
  std::map<std::string, std::string> fields;
  archive_entry* entry;
  while (archive_read_next_header(outer.get(), &entry) == ARCHIVE_OK) {
    if (std::string(archive_entry_pathname(entry)).rfind("control.tar", 0) != 0) continue;
    Nested nested{outer.get()};
    ArchivePtr inner(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(inner.get());
    archive_read_support_filter_all(inner.get());
    if (archive_read_open(inner.get(), &nested, nullptr, NestedRead, nullptr) != ARCHIVE_OK) break;
    archive_entry* e;
    while (archive_read_next_header(inner.get(), &e) == ARCHIVE_OK) {
      std::string path = archive_entry_pathname(e);
      if (path != "./control" && path != "control") continue;
      std::string text;
      char buf[4096];
      la_ssize_t n;
      while ((n = archive_read_data(inner.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
      size_t pos = 0;
      while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        size_t colon = line.find(": ");
        if (colon != std::string::npos && line[0] != ' ') fields[line.substr(0, colon)] = line.substr(colon + 2);
        if (nl == std::string::npos) break;
        pos = nl + 1;
      }
      return fields;
    }
  }
  throw InfraError("read package " + deb_path + ": no control file");
}

void GunzipFile(const std::string& gz_path, const std::string& out_path) {
  ArchivePtr a(archive_read_new(), archive_read_free);
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_filename(a.get(), gz_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    throw InfraError("open " + gz_path + ": " + ArchiveError(a.get()));
  }
  archive_entry* e;
  if (archive_read_next_header(a.get(), &e) != ARCHIVE_OK) {
    throw InfraError("decompress " + gz_path + ": " + ArchiveError(a.get()));
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  std::vector<char> buf(1 << 16);
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n < 0) throw InfraError("decompress " + gz_path + ": " + ArchiveError(a.get()));
    if (n == 0) break;
    out.write(buf.data(), n);
  }
  if (!out) throw InfraError("write " + out_path + ": " + std::strerror(errno));
}

void GzipFile(const std::string& path, const std::string& gz_path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InfraError("open " + path + ": " + std::strerror(errno));
  std::string tmp = gz_path + ".tmp." + std::to_string(getpid());
  gzFile out = gzopen(tmp.c_str(), "wb1");
  if (!out) throw InfraError("create " + tmp + ": " + std::strerror(errno));
  std::vector<char> buf(1 << 16);
  bool ok = true;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize n = in.gcount();
    if (n > 0 && gzwrite(out, buf.data(), static_cast<unsigned>(n)) != n) ok = false;
  }
  if (gzclose(out) != Z_OK) ok = false;
  if (!ok || std::rename(tmp.c_str(), gz_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InfraError("write " + gz_path + ": " + std::strerror(errno));
  }
}

// sha256 of each path, through sha256sum in batches (one process per
// hundreds of files: a kernel's modules are thousands).
std::vector<std::string> Sha256Files(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (size_t i = 0; i < paths.size(); i += 256) {
    std::vector<std::string> argv = {"sha256sum", "--"};
    for (size_t j = i; j < std::min(paths.size(), i + 256); ++j) argv.push_back(paths[j]);
    CommandOptions o;
    o.timeout_s = 600;
    std::istringstream lines(RunChecked(argv, o));
    for (std::string line; std::getline(lines, line);) out.push_back(line.substr(0, line.find(' ')));
  }
  if (out.size() != paths.size()) throw InfraError("sha256sum: " + std::to_string(out.size()) + " hashes for " +
                                                   std::to_string(paths.size()) + " files");
  return out;
}

std::string Sha256File(const std::string& path) { return Sha256Files({path}).front(); }

std::string Sha256Text(const std::string& dir, const std::string& text) {
  static std::atomic<unsigned> counter{0};
  MakeDirs(dir);
  std::string tmp = dir + "/sha256.tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
  WriteFileAtomic(tmp, text);
  try {
    std::string sum = Sha256File(tmp);
    std::remove(tmp.c_str());
    return sum;
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

}  // namespace blackout
