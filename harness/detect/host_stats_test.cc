#include "harness/detect/host_stats.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace blackout {
namespace {

TEST(HostStats, ParsesSchedstatAndPressure) {
  EXPECT_DOUBLE_EQ(SchedstatWaitSeconds("123456789 2500000000 77\n"), 2.5);
  EXPECT_DOUBLE_EQ(PsiSomeSeconds("some avg10=0.00 avg60=0.00 avg300=0.00 total=4500000\n"
                                  "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
                   4.5);
  EXPECT_EQ(PsiSomeSeconds("garbage"), -1);
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

}  // namespace
}  // namespace blackout
