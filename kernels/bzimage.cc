#include "kernels/bzimage.h"

#include <lzma.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>

#include "base/error.h"
#include "base/fsutil.h"

namespace blackout {
namespace {

uint32_t Le32(const std::string& d, size_t off) {
  return static_cast<uint32_t>(static_cast<unsigned char>(d[off])) |
         static_cast<uint32_t>(static_cast<unsigned char>(d[off + 1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(d[off + 2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(d[off + 3])) << 24;
}

uint16_t Le16(const std::string& d, size_t off) {
  return static_cast<uint16_t>(static_cast<unsigned char>(d[off]) |
                               static_cast<unsigned char>(d[off + 1]) << 8);
}

// The boot protocol's setup header (Documentation/x86/boot.rst).
struct Header {
  size_t payload_start = 0;
  size_t payload_length = 0;
  int protocol = 0;
  std::string version;
};

Header ReadHeader(const std::string& d, const std::string& path) {
  if (d.size() < 0x260 || d.compare(0x202, 4, "HdrS") != 0) {
    throw ConfigError({path + ": not an x86 bzImage (no HdrS boot header)"});
  }
  Header h;
  h.protocol = Le16(d, 0x206);
  if (h.protocol < 0x208) {
    throw ConfigError({path + ": boot protocol too old to carry a payload offset"});
  }
  int setup_sects = static_cast<unsigned char>(d[0x1f1]);
  if (setup_sects == 0) setup_sects = 4;
  size_t pm_start = static_cast<size_t>(setup_sects + 1) * 512;
  h.payload_start = pm_start + Le32(d, 0x248);
  h.payload_length = Le32(d, 0x24c);
  if (h.payload_start + h.payload_length > d.size()) {
    throw ConfigError({path + ": payload runs past the end of the file (truncated?)"});
  }
  size_t vptr = Le16(d, 0x20e);
  if (vptr != 0 && vptr + 0x200 < d.size()) {
    const char* v = d.data() + vptr + 0x200;
    h.version = std::string(v, strnlen(v, std::min<size_t>(256, d.size() - vptr - 0x200)));
  }
  return h;
}

std::string Compression(const std::string& d, size_t at) {
  auto starts = [&](const char* magic, size_t n) { return d.compare(at, n, magic, n) == 0; };
  if (starts("\xfd" "7zXZ\x00", 6)) return "xz";
  if (starts("\x1f\x8b", 2)) return "gzip";
  if (starts("\x28\xb5\x2f\xfd", 4)) return "zstd";
  if (starts("\x02\x21\x4c\x18", 4)) return "lz4";
  if (starts("BZh", 3)) return "bzip2";
  if (starts("\x5d\x00\x00", 3)) return "lzma";
  return "unknown";
}

std::string UnXz(const char* in, size_t size, const std::string& path) {
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK) throw InfraError("init xz decoder");
  std::string out;
  std::string buf(1 << 20, '\0');
  s.next_in = reinterpret_cast<const uint8_t*>(in);
  s.avail_in = size;
  lzma_ret r;
  do {
    s.next_out = reinterpret_cast<uint8_t*>(buf.data());
    s.avail_out = buf.size();
    r = lzma_code(&s, LZMA_FINISH);
    out.append(buf.data(), buf.size() - s.avail_out);
  } while (r == LZMA_OK);
  lzma_end(&s);
  if (r != LZMA_STREAM_END) {
    throw InfraError("decompress " + path + " payload: xz error " + std::to_string(r));
  }
  return out;
}

std::string UnGzip(const char* in, size_t size, const std::string& path) {
  z_stream s{};
  if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) throw InfraError("init gzip decoder");
  std::string out;
  std::string buf(1 << 20, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in));
  s.avail_in = static_cast<uInt>(size);
  int r;
  do {
    s.next_out = reinterpret_cast<Bytef*>(buf.data());
    s.avail_out = static_cast<uInt>(buf.size());
    r = inflate(&s, Z_NO_FLUSH);
    out.append(buf.data(), buf.size() - s.avail_out);
  } while (r == Z_OK);
  inflateEnd(&s);
  if (r != Z_STREAM_END) throw InfraError("decompress " + path + " payload: gzip error " + std::to_string(r));
  return out;
}

}  // namespace

BzImageInfo InspectBzImage(const std::string& path) {
  std::string d = ReadFile(path);
  Header h = ReadHeader(d, path);
  return BzImageInfo{h.version, Compression(d, h.payload_start), h.protocol};
}

void ExtractVmlinux(const std::string& bzimage_path, const std::string& out_path) {
  std::string d = ReadFile(bzimage_path);
  Header h = ReadHeader(d, bzimage_path);
  std::string kind = Compression(d, h.payload_start);
  const char* payload = d.data() + h.payload_start;
  std::string elf;
  if (kind == "xz") {
    elf = UnXz(payload, h.payload_length, bzimage_path);
  } else if (kind == "gzip") {
    elf = UnGzip(payload, h.payload_length, bzimage_path);
  } else {
    throw InfraError("extract vmlinux from " + bzimage_path + ": " + kind +
                     " payloads are not supported (xz and gzip are)");
  }
  if (elf.size() < 64 || elf.compare(0, 4, "\x7f" "ELF") != 0 || elf[4] != 2 /*64-bit*/) {
    throw InfraError("extract vmlinux from " + bzimage_path + ": payload is not a 64-bit ELF");
  }
  WriteFileAtomic(out_path, elf);
}

}  // namespace blackout
