#include "harness/detect/host_stats.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace blackout {
namespace {

TEST(HostStats, ParsesSchedstatAndPressure) {
  EXPECT_DOUBLE_EQ(SchedstatWaitSeconds("123456789 2500000000 77\n"), 2.5);
  EXPECT_DOUBLE_EQ(PsiSomeSeconds("some avg10=0.00 avg60=0.00 avg300=0.00 total=4500000\n"
                                  "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
                   4.5);
  EXPECT_EQ(PsiSomeSeconds("garbage"), -1);
  EXPECT_EQ(SchedstatWaitSeconds("garbage"), 0);
  EXPECT_EQ(SchedstatWaitSeconds("12\n"), 0);
  EXPECT_EQ(VcpuThreadIndex("CPU 0/TCG\n"), 0);
  EXPECT_EQ(VcpuThreadIndex("CPU 12/KVM"), 12);
  EXPECT_EQ(VcpuThreadIndex("qemu-system-x86"), -1);
}

// Real /proc: a process without QEMU's vCPU threads has none, and the host's
// pressure file is read when the kernel has PSI.
TEST(HostStats, SamplesRealProc) {
  HostSample s = HostSampler(getpid()).Sample(1.5);
  EXPECT_EQ(s.t, 1.5);
  EXPECT_TRUE(s.vcpu_wait_s.empty());
  EXPECT_EQ(FindVcpuThread(getpid(), 0), -1);
  if (access("/proc/pressure/cpu", R_OK) == 0) EXPECT_GE(s.psi_some_s, 0);
}

// A thread named as QEMU names its vCPU threads is found, before and after
// the sampler remembers it, and one named later is found within 16 samples.
TEST(HostStats, FindsVcpuThreadsByName) {
  std::atomic<bool> stop{false};
  auto spin = [&stop](const char* name) {
    return std::thread([&stop, name] {
      pthread_setname_np(pthread_self(), name);
      while (!stop) usleep(1000);
    });
  };
  std::thread a = spin("CPU 3/TCG");
  usleep(50000);
  HostSampler sampler(getpid());
  for (int i = 0; i < 3; ++i) {
    HostSample s = sampler.Sample(i);
    ASSERT_EQ(s.vcpu_wait_s.size(), 4u) << "sample " << i;
  }
  std::thread b = spin("CPU 5/TCG");
  usleep(50000);
  size_t seen = 0;
  for (int i = 0; i < 17; ++i) seen = sampler.Sample(i).vcpu_wait_s.size();
  EXPECT_EQ(seen, 6u);
  stop = true;
  a.join();
  b.join();
}

}  // namespace
}  // namespace blackout
