#include "harness/host_stats.h"

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
  EXPECT_TRUE(IsVcpuThread("CPU 0/TCG\n"));
  EXPECT_TRUE(IsVcpuThread("CPU 12/KVM"));
  EXPECT_FALSE(IsVcpuThread("qemu-system-x86"));
}

// Real /proc: a process without QEMU's vCPU threads has none, and the host's
// pressure file is read when the kernel has PSI.
TEST(HostStats, SamplesRealProc) {
  HostSample s = HostSampler(getpid()).Sample(1.5);
  EXPECT_EQ(s.t, 1.5);
  EXPECT_EQ(s.vcpu_threads, 0);
  if (access("/proc/pressure/cpu", R_OK) == 0) EXPECT_GE(s.psi_some_s, 0);
}

}  // namespace
}  // namespace blackout
