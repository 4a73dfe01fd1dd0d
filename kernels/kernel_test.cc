#include "kernels/kernel.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"
#include "kernels/bzimage.h"
#include "kernels/cache.h"
#include "kernels/deb.h"
#include "kernels/fake_kernel_test_util.h"

namespace blackout {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/blackout-kt-XXXXXX";
  return mkdtemp(tmpl);
}

KernelSpec DebSpec(const std::string& deb) {
  KernelSpec s;
  s.source = "deb";
  s.deb = deb;
  s.sha256 = Sha256File(deb);
  return s;
}

TEST(FetchKernel, DebIsRefusedWhenItsHashDiffers) {
  std::string dir = TempDir();
  KernelSpec s = DebSpec(testing_util::BuildKernelDeb(dir, "6.1.0-t", true));
  s.sha256[0] = s.sha256[0] == 'a' ? 'b' : 'a';
  try {
    FetchKernel(s, dir + "/cache");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to use it"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/cache/deb"));
  std::filesystem::remove_all(dir);
}

TEST(FetchKernel, DebUnpacksOnceThenHitsTheCache) {
  std::string dir = TempDir();
  KernelSpec s = DebSpec(testing_util::BuildKernelDeb(dir, "6.1.0-t", true));
  KernelArtifact a = FetchKernel(s, dir + "/cache");
  EXPECT_EQ(a.package, "linux-image-6.1.0-t");
  EXPECT_EQ(a.version, "1.0-1");
  EXPECT_EQ(a.release, "6.1.0-t");
  EXPECT_TRUE(a.xen_pv);
  EXPECT_EQ(ReadFile(a.vmlinux), testing_util::FakeElf());
  EXPECT_TRUE(std::filesystem::exists(a.modules_dir + "/modules.dep"));  // made by depmod
  auto stamp = std::filesystem::last_write_time(a.vmlinux);
  KernelArtifact b = FetchKernel(s, dir + "/cache");
  EXPECT_EQ(b.dir, a.dir);
  EXPECT_EQ(std::filesystem::last_write_time(b.vmlinux), stamp);  // nothing unpacked again
  std::filesystem::remove_all(dir);
}

// Two processes fetch the same kernel at once: both get the same complete
// entry; no torn files, no leftovers.
TEST(FetchKernel, ConcurrentFetchesShareOneEntry) {
  std::string dir = TempDir();
  KernelSpec s = DebSpec(testing_util::BuildKernelDeb(dir, "6.1.0-c", true));
  pid_t kids[2];
  for (pid_t& k : kids) {
    k = fork();
    if (k == 0) {
      try {
        KernelArtifact a = FetchKernel(s, dir + "/cache");
        _exit(ReadFile(a.vmlinux) == testing_util::FakeElf() ? 0 : 1);
      } catch (...) {
        _exit(2);
      }
    }
  }
  for (pid_t k : kids) {
    int st = 0;
    waitpid(k, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/cache/deb")) {
    if (e.is_directory()) ++entries;
  }
  EXPECT_EQ(entries, 1);
  std::filesystem::remove_all(dir);
}

TEST(FetchKernel, PathImageWithoutXenPvConfigIsFlagged) {
  std::string dir = TempDir();
  WriteFileAtomic(dir + "/bzImage", testing_util::FakeBzImage(testing_util::FakeElf()));
  WriteFileAtomic(dir + "/config", "CONFIG_XEN_PV=n\n");
  KernelSpec s;
  s.source = "path";
  s.image = dir + "/bzImage";
  s.config = dir + "/config";
  KernelArtifact a = FetchKernel(s, dir + "/cache");
  EXPECT_FALSE(a.xen_pv);
  EXPECT_EQ(ReadFile(a.vmlinux), testing_util::FakeElf());
  s.image = dir + "/missing";
  EXPECT_THROW(FetchKernel(s, dir + "/cache"), ConfigError);
  std::filesystem::remove_all(dir);
}

TEST(TrimCache, RemovesLeastRecentlyUsedFirst) {
  std::string dir = TempDir();
  KernelSpec old_spec = DebSpec(testing_util::BuildKernelDeb(dir, "6.1.0-old", true));
  KernelSpec new_spec = DebSpec(testing_util::BuildKernelDeb(dir, "6.1.0-new", true));
  KernelArtifact o = FetchKernel(old_spec, dir + "/cache");
  sleep(1);
  KernelArtifact n = FetchKernel(new_spec, dir + "/cache");
  auto entries = ListCache(dir + "/cache");
  ASSERT_EQ(entries.size(), 2u);
  uint64_t one = entries[0].bytes;
  auto removed = TrimCache(dir + "/cache", one + one / 2);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].path, o.dir);
  EXPECT_TRUE(std::filesystem::exists(n.vmlinux));
  std::filesystem::remove_all(dir);
}

// Built initramfs images and saved dom0 states count toward the cache's size
// and go least recently used first too; a writer's temporary stays.
TEST(TrimCache, CountsAndRemovesRebuiltFiles) {
  std::string dir = TempDir();
  KernelArtifact k = FetchKernel(DebSpec(testing_util::BuildKernelDeb(dir, "6.1.0-k", true)), dir + "/cache");
  std::string cache = dir + "/cache";
  MakeDirs(cache + "/dom0-state");
  MakeDirs(cache + "/initramfs");
  WriteFileAtomic(cache + "/dom0-state/old.state", std::string(3000, 's'));
  WriteFileAtomic(cache + "/initramfs/img.cpio.gz", std::string(2000, 'i'));
  WriteFileAtomic(cache + "/dom0-state/new.state.tmp.1.2", std::string(5000, 't'));
  // The state was last used long ago, the kernel entry and the image now.
  auto long_ago = std::filesystem::file_time_type::clock::now() - std::chrono::hours(48);
  std::filesystem::last_write_time(cache + "/dom0-state/old.state", long_ago);
  EXPECT_EQ(ListCache(cache).size(), 1u);  // what `kernels verify` checks
  auto all = ListCache(cache, true);
  ASSERT_EQ(all.size(), 3u);
  uint64_t total = 0, entry = 0;
  for (const CacheEntryInfo& e : all) {
    total += e.bytes;
    if (!e.rebuilt) entry = e.bytes;
  }
  EXPECT_EQ(total, entry + 5000);
  auto removed = TrimCache(cache, total - 1);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].path, cache + "/dom0-state/old.state");
  EXPECT_TRUE(std::filesystem::exists(cache + "/initramfs/img.cpio.gz"));
  removed = TrimCache(cache, 0);
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(k.vmlinux));
  EXPECT_FALSE(std::filesystem::exists(cache + "/initramfs/img.cpio.gz"));
  EXPECT_TRUE(std::filesystem::exists(cache + "/dom0-state/new.state.tmp.1.2"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace blackout

namespace blackout {
namespace {

// A cache entry is checked against the manifest written when it was filled:
// a file changed, cut or removed is noticed on use (cheaply: size and mtime,
// the hash where they differ) and the entry is filled again, never used.
TEST(CacheEntry, ADamagedEntryIsFilledAgainNotUsed) {
  std::string dir = TempDir();
  KernelSpec spec = DebSpec(testing_util::BuildKernelDeb(dir, "6.1.0-ok", true));
  KernelArtifact a = FetchKernel(spec, dir + "/cache");
  std::string vmlinux = ReadFile(a.vmlinux);
  EXPECT_EQ(CheckCacheEntry(a.dir, true), "");
  // Same size, new content (bit rot, a stray write): found by its hash.
  std::string flipped = vmlinux;
  flipped[flipped.size() / 2] ^= 0x55;
  WriteFileAtomic(a.vmlinux, flipped);
  EXPECT_NE(CheckCacheEntry(a.dir, false).find("vmlinux changed"), std::string::npos) << CheckCacheEntry(a.dir, false);
  KernelArtifact b = FetchKernel(spec, dir + "/cache");
  EXPECT_EQ(b.dir, a.dir);
  EXPECT_EQ(ReadFile(b.vmlinux), vmlinux);  // filled again from the package
  // A file cut short, and one removed.
  WriteFileAtomic(b.vmlinux, vmlinux.substr(0, 10));
  EXPECT_NE(CheckCacheEntry(b.dir, false).find("bytes, not"), std::string::npos);
  EXPECT_EQ(ReadFile(FetchKernel(spec, dir + "/cache").vmlinux), vmlinux);
  std::filesystem::remove(b.config);
  EXPECT_NE(CheckCacheEntry(b.dir, false).find("is missing"), std::string::npos);
  EXPECT_EQ(ReadFile(FetchKernel(spec, dir + "/cache").vmlinux), vmlinux);
  // No manifest (an older blackout's entry, or a cut fill): filled again.
  std::filesystem::remove(b.dir + "/.manifest");
  EXPECT_NE(CheckCacheEntry(b.dir, false), "");
  EXPECT_EQ(ReadFile(FetchKernel(spec, dir + "/cache").vmlinux), vmlinux);
  EXPECT_EQ(CheckCacheEntry(b.dir, true), "");
  std::filesystem::remove_all(dir);
}

// `kernels verify` hashes every entry and removes the damaged ones.
TEST(VerifyCache, RemovesDamagedEntries) {
  std::string dir = TempDir();
  KernelArtifact ok = FetchKernel(DebSpec(testing_util::BuildKernelDeb(dir, "6.1.0-a", true)), dir + "/cache");
  KernelArtifact bad = FetchKernel(DebSpec(testing_util::BuildKernelDeb(dir, "6.1.0-b", true)), dir + "/cache");
  std::string text = ReadFile(bad.vmlinux);
  text[0] ^= 1;
  WriteFileAtomic(bad.vmlinux, text);
  auto problems = VerifyCache(dir + "/cache");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].first, bad.dir);
  EXPECT_NE(problems[0].second.find("removed"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(ok.vmlinux));
  EXPECT_FALSE(std::filesystem::exists(bad.dir));
  std::filesystem::remove_all(dir);
}

// A run holds its entries share-locked: gc skips them (and does not wait),
// and a second use of one entry in the same run does not wait on itself.
TEST(CacheHoldScope, GcSkipsWhatARunUses) {
  std::string dir = TempDir();
  KernelSpec spec = DebSpec(testing_util::BuildKernelDeb(dir, "6.1.0-held", true));
  {
    CacheHoldScope run;
    KernelArtifact a = FetchKernel(spec, dir + "/cache");
    KernelArtifact again = FetchKernel(spec, dir + "/cache");  // the same entry twice in one run
    EXPECT_EQ(again.dir, a.dir);
    // gc from another process, as `blackout kernels gc` would run.
    pid_t pid = fork();
    if (pid == 0) _exit(TrimCache(dir + "/cache", 0).empty() ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "gc removed an entry in use";
    EXPECT_TRUE(std::filesystem::exists(a.vmlinux));
    // Another run using the same entry at the same time does not wait for us.
    pid = fork();
    if (pid == 0) {
      alarm(20);  // a wait on our lock would hang: SIGALRM ends it as a failure
      CacheHoldScope other;
      _exit(FetchKernel(spec, dir + "/cache").dir == a.dir ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a second run waited on the first";
  }
  // The run is over: gc may take it now.
  EXPECT_EQ(TrimCache(dir + "/cache", 0).size(), 1u);
  std::filesystem::remove_all(dir);
}

// Kernel configs of each era: real excerpts of Debian 11's packages and the
// shape of a 3.2 PV guest's (kernels/testdata).
std::string Fixture(const std::string& name) { return ReadFile(std::string(TESTDATA_DIR) + "/" + name); }

TEST(XenPvFromConfig, ThreePointTwoCountsAsPvWithoutTheXenPvSymbol) {
  XenPvSupport s = XenPvFromConfig(Fixture("config-3.2-precise-virtual.shape"));
  EXPECT_TRUE(s.pv) << s.why;
  EXPECT_EQ(s.why, "CONFIG_XEN=y (before 4.14, where that meant PV)");
  EXPECT_EQ(s.console, "console=hvc0");
  EXPECT_TRUE(Is64BitConfig(Fixture("config-3.2-precise-virtual.shape")));
}

TEST(XenPvFromConfig, FivePointTenSaysXenPv) {
  XenPvSupport s = XenPvFromConfig(Fixture("config-5.10.0-32-amd64.excerpt"));
  EXPECT_TRUE(s.pv);
  EXPECT_EQ(s.why, "CONFIG_XEN_PV=y");
  EXPECT_TRUE(Is64BitConfig(Fixture("config-5.10.0-32-amd64.excerpt")));
}

TEST(XenPvFromConfig, EachReasonItCannotBeAPvGuest) {
  // 4.14 and later: XEN without XEN_PV is HVM/PVH only.
  EXPECT_EQ(XenPvFromConfig("CONFIG_XEN=y\n# CONFIG_XEN_PV is not set\nCONFIG_PARAVIRT=y\n").why,
            "CONFIG_XEN=y but CONFIG_XEN_PV is not set (HVM/PVH support only)");
  EXPECT_EQ(XenPvFromConfig("CONFIG_64BIT=y\n# CONFIG_XEN is not set\n").why,
            "no Xen support (CONFIG_XEN is not set)");
  // A 3.2 config with Xen but no console driver would boot unheard.
  std::string no_console = Fixture("config-3.2-precise-virtual.shape");
  no_console.replace(no_console.find("CONFIG_HVC_XEN=y"), 16, "# CONFIG_HVC_XEN is not set");
  XenPvSupport s = XenPvFromConfig(no_console);
  EXPECT_FALSE(s.pv);
  EXPECT_NE(s.why.find("no Xen console driver"), std::string::npos) << s.why;
  // Classic XenLinux: PV without pvops, its console is xvc0.
  XenPvSupport classic = XenPvFromConfig("CONFIG_X86_64=y\nCONFIG_XEN=y\nCONFIG_XEN_COMPAT_030002_AND_LATER=y\n");
  EXPECT_TRUE(classic.pv);
  EXPECT_EQ(classic.console, "console=xvc0 xencons=xvc");
}

TEST(Is64BitConfig, TheI386FlavourIsThirtyTwoBit) {
  EXPECT_FALSE(Is64BitConfig(Fixture("config-5.10.0-32-686.excerpt")));
}

TEST(FetchKernel, AnI386PackageIsRefusedAsThirtyTwoBit) {
  std::string dir = TempDir();
  std::string root = dir + "/pkg";
  MakeDirs(root + "/DEBIAN");
  MakeDirs(root + "/boot");
  WriteFileAtomic(root + "/DEBIAN/control", "Package: linux-image-5.10.0-32-686\nVersion: 5.10.223-1\n"
                                            "Architecture: i386\nMaintainer: t <t@t>\nDescription: t\n");
  WriteFileAtomic(root + "/boot/config-5.10.0-32-686", Fixture("config-5.10.0-32-686.excerpt"));
  std::string deb = dir + "/k.deb";
  RunChecked({"dpkg-deb", "--build", "-Zgzip", root, deb});
  try {
    FetchKernel(DebSpec(deb), dir + "/cache");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("linux-image-5.10.0-32-686 5.10.223-1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("built for i386 (a 32-bit kernel)"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(InspectElfNotes, FindsXensPvhEntryNoteOrItsAbsence) {
  ElfNotesInfo with = InspectElfNotes(ELF_WITH_PVH_NOTE);
  EXPECT_TRUE(with.is_64bit);
  EXPECT_TRUE(with.pvh_entry);
  ElfNotesInfo without = InspectElfNotes(ELF_WITHOUT_PVH_NOTE);
  EXPECT_TRUE(without.is_64bit);
  EXPECT_FALSE(without.pvh_entry);
  EXPECT_THROW(InspectElfNotes(std::string(TESTDATA_DIR) + "/config-5.10.0-32-amd64.excerpt"), ConfigError);
}

}  // namespace
}  // namespace blackout
