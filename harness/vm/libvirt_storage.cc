#include "harness/vm/libvirt_storage.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "base/log.h"
#include "base/subprocess.h"
#include "harness/vm/libvirt_connection.h"
#include "kernels/deb.h"

namespace blackout {
namespace {

// sha256 of a file, remembered by path, size and mtime for the process's
// life: a bisection uploads the same Xen and dom0 files run after run.
std::string ContentHash(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::pair<std::string, std::string>> memo;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw InfraError("upload " + path + ": " + strerror(errno));
  std::string key = std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec);
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = memo.find(path);
    if (it != memo.end() && it->second.first == key) return it->second.second;
  }
  std::string sha = Sha256File(path);
  std::lock_guard<std::mutex> lock(mu);
  memo[path] = {key, sha};
  return sha;
}

// Owns a libvirt object handle.
template <typename T, int (*Free)(T)>
struct Handle {
  T p = nullptr;
  Handle() = default;
  explicit Handle(T q) : p(q) {}
  ~Handle() {
    if (p) Free(p);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle& operator=(T q) {
    if (p) Free(p);
    p = q;
    return *this;
  }
  explicit operator bool() const { return p != nullptr; }
};
using Pool = Handle<virStoragePoolPtr, virStoragePoolFree>;
using Vol = Handle<virStorageVolPtr, virStorageVolFree>;
using Stream = Handle<virStreamPtr, virStreamFree>;

[[noreturn]] void Fail(const LibvirtConnection& conn, const std::string& what) {
  throw HostError("libvirt on " + conn.uri() + ": " + what + ": " + LibvirtLastError());
}

// The "blackout" pool, defined, built and started when the host lacks it.
virStoragePoolPtr OpenPool(LibvirtConnection& conn) {
  virStoragePoolPtr pool = virStoragePoolLookupByName(conn.get(), kPoolName);
  if (!pool) {
    std::string xml = std::string("<pool type='dir'><name>") + kPoolName + "</name><target><path>" + kPoolPath +
                      "</path></target></pool>";
    pool = virStoragePoolDefineXML(conn.get(), xml.c_str(), 0);
    // Another blackout may have defined it a moment ago.
    if (!pool) pool = virStoragePoolLookupByName(conn.get(), kPoolName);
    if (!pool) Fail(conn, std::string("define storage pool ") + kPoolName);
    virStoragePoolBuild(pool, 0);  // mkdir; fails harmlessly when it exists
    virStoragePoolSetAutostart(pool, 1);
  }
  if (virStoragePoolIsActive(pool) != 1 && virStoragePoolCreate(pool, 0) < 0 && virStoragePoolIsActive(pool) != 1) {
    virStoragePoolFree(pool);
    Fail(conn, std::string("start storage pool ") + kPoolName);
  }
  return pool;
}

std::string VolumePath(const LibvirtConnection& conn, virStorageVolPtr vol) {
  char* p = virStorageVolGetPath(vol);
  if (!p) Fail(conn, "volume path");
  std::string out = p;
  free(p);
  return out;
}

std::string VolumeXml(const std::string& name, uint64_t capacity, const std::string& format) {
  return "<volume><name>" + XmlEscape(name) + "</name><capacity unit='bytes'>" + std::to_string(capacity) +
         "</capacity><allocation unit='bytes'>0</allocation><target><format type='" + XmlEscape(format) +
         "'/></target></volume>";
}

// Sends the file's bytes into the (new, empty) volume.
void Upload(LibvirtConnection& conn, virStorageVolPtr vol, const std::string& path, uint64_t size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InfraError("upload " + path + ": cannot read it");
  Stream st(virStreamNew(conn.get(), 0));
  if (!st || virStorageVolUpload(vol, st.p, 0, size, 0) < 0) Fail(conn, "upload " + path);
  std::vector<char> buf(1 << 20);
  uint64_t left = size;
  while (left > 0) {
    CheckInterrupted("upload " + path);
    in.read(buf.data(), static_cast<std::streamsize>(std::min<uint64_t>(buf.size(), left)));
    std::streamsize n = in.gcount();
    if (n <= 0) {
      virStreamAbort(st.p);
      throw InfraError("upload " + path + ": the file shrank while it was sent");
    }
    for (std::streamsize off = 0; off < n;) {
      int sent = virStreamSend(st.p, buf.data() + off, static_cast<size_t>(n - off));
      if (sent < 0) {
        virStreamAbort(st.p);
        Fail(conn, "upload " + path);
      }
      off += sent;
    }
    left -= static_cast<uint64_t>(n);
  }
  if (virStreamFinish(st.p) < 0) Fail(conn, "finish the upload of " + path);
}

// The path on the host of a volume holding the file's content, uploading it
// when the host does not hold it yet. Adds to *uploaded or *reused.
std::string EnsureFile(LibvirtConnection& conn, virStoragePoolPtr pool, const std::string& path, uint64_t* uploaded,
                       uint64_t* reused) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw InfraError("upload " + path + ": " + strerror(errno));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string name = ContentVolumeName(ContentHash(path), path);
  std::string done_name = name + ".done";
  // Another blackout may be uploading the same file: wait for its marker a
  // while, then take over (an upload whose blackout died never finishes).
  for (int waited = 0;; ++waited) {
    Vol vol(virStorageVolLookupByName(pool, name.c_str()));
    Vol done(virStorageVolLookupByName(pool, done_name.c_str()));
    if (vol && done) {
      *reused += size;
      return VolumePath(conn, vol.p);
    }
    if (!vol || waited >= 120) {
      if (vol) virStorageVolDelete(vol.p, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    CheckInterrupted("wait for another upload of " + path);
  }
  Vol vol(virStorageVolCreateXML(pool, VolumeXml(name, size, "raw").c_str(), 0));
  if (!vol) Fail(conn, "create volume " + name);
  try {
    Upload(conn, vol.p, path, size);
  } catch (...) {
    virStorageVolDelete(vol.p, 0);
    throw;
  }
  Vol done(virStorageVolCreateXML(pool, VolumeXml(done_name, 0, "raw").c_str(), 0));
  if (!done) Fail(conn, "create volume " + done_name);
  *uploaded += size;
  return VolumePath(conn, vol.p);
}

// An image guest's overlay: the image (its backing file) once per host, by
// content like any other file; this run's overlay rebased (-u: no data read)
// on the host's copy of it, sent as the run's own volume.
void PlaceOverlay(LibvirtConnection& conn, virStoragePoolPtr pool, const std::string& name, BootDisk* d,
                  HostBoot* out) {
  std::string host_backing = EnsureFile(conn, pool, d->backing, &out->uploaded_bytes, &out->reused_bytes);
  std::string rebased = d->path + ".host.qcow2";
  std::error_code ec;
  std::filesystem::copy_file(d->path, rebased, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) throw InfraError("copy " + d->path + " to " + rebased + ": " + ec.message());
  struct Remove {
    std::string path;
    ~Remove() {
      std::error_code e;
      std::filesystem::remove(path, e);
    }
  } remove{rebased};
  CommandOptions o;
  o.timeout_s = 60;
  RunChecked({"qemu-img", "rebase", "-q", "-u", "-f", "qcow2", "-F", d->backing_format, "-b", host_backing, rebased}, o);
  uint64_t bytes = std::filesystem::file_size(rebased);
  Vol vol(virStorageVolCreateXML(pool, VolumeXml(name, bytes, "raw").c_str(), 0));
  if (!vol) Fail(conn, "create overlay volume " + name);
  out->run_volumes.push_back(name);
  Upload(conn, vol.p, rebased, bytes);
  out->uploaded_bytes += bytes;
  d->path = VolumePath(conn, vol.p);
  d->backing = host_backing;
}

}  // namespace

std::string ContentVolumeName(const std::string& sha256, const std::string& path) {
  std::string base = path.substr(path.rfind('/') + 1);
  std::string clean;
  for (char c : base) clean += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  if (clean.size() > 100) clean = clean.substr(clean.size() - 100);
  return sha256.substr(0, 32) + "-" + clean;
}

HostBoot PlaceBootOnHost(LibvirtConnection& conn, const BootSpec& boot, const std::string& run_name) {
  HostBoot out;
  out.boot = boot;
  Pool pool(OpenPool(conn));
  // (An hvm image guest has no kernel: its firmware boots the overlay.)
  if (!boot.kernel.empty()) out.boot.kernel = EnsureFile(conn, pool.p, boot.kernel, &out.uploaded_bytes, &out.reused_bytes);
  for (BootModule& m : out.boot.modules) m.path = EnsureFile(conn, pool.p, m.path, &out.uploaded_bytes, &out.reused_bytes);
  for (size_t i = 0; i < out.boot.disks.size(); ++i) {
    BootDisk& d = out.boot.disks[i];
    std::string name = run_name + "-disk" + std::to_string(i) + "." + d.format;
    if (!d.backing.empty()) {
      try {
        PlaceOverlay(conn, pool.p, name, &d, &out);
      } catch (const InfraError&) {
        DeleteRunVolumes(conn, out.run_volumes);
        throw;
      }
      continue;
    }
    Vol vol(virStorageVolCreateXML(pool.p, VolumeXml(name, d.size, d.format).c_str(), 0));
    if (!vol) {
      DeleteRunVolumes(conn, out.run_volumes);
      Fail(conn, "create disk volume " + name);
    }
    out.run_volumes.push_back(name);
    if (d.content) {
      // Files for the guest (xen-pv-domu's run disk): this run's alone.
      try {
        Upload(conn, vol.p, boot.disks[i].path, d.size);
      } catch (const InfraError&) {
        DeleteRunVolumes(conn, out.run_volumes);
        throw;
      }
      out.uploaded_bytes += d.size;
    }
    d.path = VolumePath(conn, vol.p);
  }
  return out;
}

PoolUsage DescribePool(LibvirtConnection& conn) {
  PoolUsage usage;
  Pool pool(virStoragePoolLookupByName(conn.get(), kPoolName));
  if (!pool || virStoragePoolIsActive(pool.p) != 1) return usage;
  virStoragePoolRefresh(pool.p, 0);
  virStorageVolPtr* vols = nullptr;
  int n = virStoragePoolListAllVolumes(pool.p, &vols, 0);
  if (n < 0) return usage;
  usage.volumes = 0;
  for (int i = 0; i < n; ++i) {
    const char* name = virStorageVolGetName(vols[i]);
    std::string vname = name ? name : "";
    // A file's ".done" marker is not a file of its own.
    if (vname.size() < 5 || vname.compare(vname.size() - 5, 5, ".done") != 0) ++usage.volumes;
    virStorageVolInfo info;
    if (virStorageVolGetInfo(vols[i], &info) == 0) usage.bytes += info.allocation;
    virStorageVolFree(vols[i]);
  }
  free(vols);
  return usage;
}

void DeleteRunVolumes(LibvirtConnection& conn, const std::vector<std::string>& names) {
  if (names.empty()) return;
  Pool pool(virStoragePoolLookupByName(conn.get(), kPoolName));
  if (!pool) return;
  for (const std::string& name : names) {
    Vol vol(virStorageVolLookupByName(pool.p, name.c_str()));
    if (vol) virStorageVolDelete(vol.p, 0);
  }
}

}  // namespace blackout
