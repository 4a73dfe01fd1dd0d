#include "kernels/bzimage.h"

#include <elf.h>
#include <fcntl.h>
#include <lzma.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <cstring>
#include <vector>

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

// One zstd frame (Debian 13 builds its kernels with zstd): the kernel's
// payload ends with the frame, then its uncompressed size, which is ignored.
std::string UnZstd(const char* in, size_t size, const std::string& path) {
  ZSTD_DStream* z = ZSTD_createDStream();
  // The kernel is compressed with --ultra -22: windows up to 2^27 and more.
  ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, 31);
  std::string out;
  std::vector<char> buf(ZSTD_DStreamOutSize());
  ZSTD_inBuffer input = {in, size, 0};
  size_t r = 1;
  while (r != 0 && input.pos < input.size) {
    ZSTD_outBuffer output = {buf.data(), buf.size(), 0};
    r = ZSTD_decompressStream(z, &output, &input);
    if (ZSTD_isError(r)) {
      std::string why = ZSTD_getErrorName(r);
      ZSTD_freeDStream(z);
      throw InfraError("decompress " + path + " payload: zstd error: " + why);
    }
    out.append(buf.data(), output.pos);
  }
  ZSTD_freeDStream(z);
  if (r != 0) throw InfraError("decompress " + path + " payload: zstd frame is cut short");
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
  } else if (kind == "zstd") {
    elf = UnZstd(payload, h.payload_length, bzimage_path);
  } else {
    throw InfraError("extract vmlinux from " + bzimage_path + ": " + kind +
                     " payloads are not supported (xz, gzip and zstd are)");
  }
  if (elf.size() < 64 || elf.compare(0, 4, "\x7f" "ELF") != 0) {
    throw InfraError("extract vmlinux from " + bzimage_path + ": payload is not an ELF");
  }
  if (elf[4] != 2 /*64-bit*/) {
    throw ConfigError({bzimage_path + " is a 32-bit kernel: blackout's guests, agent and workloads are x86-64"});
  }
  WriteFileAtomic(out_path, elf);
}

namespace {

// Xen's ELF note types (xen/include/public/elfnote.h).
constexpr uint32_t kXenNoteEntry = 1;
constexpr uint32_t kXenNotePhys32Entry = 18;

// One note area's entries: (name, type, descriptor).
void ReadNotes(const std::string& area, ElfNotesInfo* info) {
  size_t at = 0;
  auto align4 = [](size_t n) { return (n + 3) & ~static_cast<size_t>(3); };
  while (at + 12 <= area.size()) {
    uint32_t namesz = Le32(area, at), descsz = Le32(area, at + 4), type = Le32(area, at + 8);
    size_t name_at = at + 12, desc_at = name_at + align4(namesz);
    if (namesz > area.size() || descsz > area.size() || desc_at + descsz > area.size()) return;
    std::string name = area.substr(name_at, namesz ? namesz - 1 : 0);
    std::string desc = area.substr(desc_at, descsz);
    if (name == "Xen" && type == kXenNotePhys32Entry) info->pvh_entry = true;
    if (name == "Xen" && type == kXenNoteEntry) info->xen_pv = true;
    if (name == "GNU" && type == NT_GNU_ABI_TAG && desc.size() >= 16 && Le32(desc, 0) == 0) {
      info->abi_floor = std::to_string(Le32(desc, 4)) + "." + std::to_string(Le32(desc, 8)) + "." +
                        std::to_string(Le32(desc, 12));
    }
    at = desc_at + align4(descsz);
  }
}

}  // namespace

std::string DecompressFile(const std::string& path) {
  std::string d = ReadFile(path);
  std::string kind = Compression(d, 0);
  if (kind == "xz") return UnXz(d.data(), d.size(), path);
  if (kind == "gzip") return UnGzip(d.data(), d.size(), path);
  if (kind == "zstd") return UnZstd(d.data(), d.size(), path);
  throw InfraError("decompress " + path + ": " + kind + " data (xz, gzip and zstd are read)");
}

ElfNotesInfo InspectElfNotes(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ConfigError({path + ": cannot open (" + std::string(std::strerror(errno)) + ")"});
  auto read_at = [&](uint64_t at, size_t size) {
    std::string out(size, '\0');
    ssize_t n = pread(fd, out.data(), size, static_cast<off_t>(at));
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
  };
  ElfNotesInfo info;
  std::string ident = read_at(0, EI_NIDENT);
  if (ident.size() < EI_NIDENT || ident.compare(0, SELFMAG, ELFMAG) != 0) {
    close(fd);
    throw ConfigError({path + ": not an ELF file"});
  }
  info.is_64bit = ident[EI_CLASS] == ELFCLASS64;
  if (!info.is_64bit) {
    close(fd);
    return info;  // a 32-bit kernel: refused by its class alone
  }
  Elf64_Ehdr eh;
  std::string raw = read_at(0, sizeof eh);
  constexpr uint64_t kMaxNotes = 1 << 20;  // a kernel's notes are a few hundred bytes
  if (raw.size() == sizeof eh) {
    std::memcpy(&eh, raw.data(), sizeof eh);
    bool segments = false;
    for (int i = 0; i < eh.e_phnum && eh.e_phentsize == sizeof(Elf64_Phdr); ++i) {
      Elf64_Phdr ph;
      std::string p = read_at(eh.e_phoff + static_cast<uint64_t>(i) * sizeof ph, sizeof ph);
      if (p.size() != sizeof ph) break;
      std::memcpy(&ph, p.data(), sizeof ph);
      if (ph.p_type == PT_NOTE && ph.p_filesz <= kMaxNotes) {
        segments = true;
        ReadNotes(read_at(ph.p_offset, ph.p_filesz), &info);
      }
    }
    for (int i = 0; !segments && i < eh.e_shnum && eh.e_shentsize == sizeof(Elf64_Shdr); ++i) {
      Elf64_Shdr sh;
      std::string p = read_at(eh.e_shoff + static_cast<uint64_t>(i) * sizeof sh, sizeof sh);
      if (p.size() != sizeof sh) break;
      std::memcpy(&sh, p.data(), sizeof sh);
      if (sh.sh_type == SHT_NOTE && sh.sh_size <= kMaxNotes) ReadNotes(read_at(sh.sh_offset, sh.sh_size), &info);
    }
  }
  close(fd);
  return info;
}

}  // namespace blackout
