#include "base/protocol.h"

#include <gtest/gtest.h>

#include "base/protocol.h"

namespace blackout {
namespace {

std::string Beat(const std::string& nonce, int vcpu, uint64_t seq, uint64_t ns) {
  std::string line = protocol::FormatHeartbeat(nonce, vcpu, seq, ns);
  line.pop_back();  // newline
  return line;
}

TEST(Heartbeat, RoundTrips) {
  Heartbeat hb;
  ASSERT_EQ(ParseHeartbeat(Beat("n1", 3, 42, 123456789), "n1", &hb), RecordCheck::kOk);
  EXPECT_EQ(hb.vcpu, 3);
  EXPECT_EQ(hb.seq, 42u);
  EXPECT_EQ(hb.guest_ns, 123456789u);
}

TEST(Heartbeat, FoundAfterKernelTextOnTheSameLine) {
  Heartbeat hb;
  EXPECT_EQ(ParseHeartbeat("[   5.1] xen: foo" + Beat("n1", 0, 1, 2), "n1", &hb), RecordCheck::kOk);
}

TEST(Heartbeat, RejectsAnotherRunsNonce) {
  Heartbeat hb;
  EXPECT_EQ(ParseHeartbeat(Beat("other", 0, 1, 2), "n1", &hb), RecordCheck::kForeign);
}

TEST(Heartbeat, RejectsEveryCorruption) {
  std::string good = Beat("n1", 1, 7, 99);
  Heartbeat hb;
  // Change each character of the sealed part in turn: the seal must catch it.
  for (size_t i = 5; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = bad[i] == '1' ? '2' : '1';
    EXPECT_NE(ParseHeartbeat(bad, "n1", &hb), RecordCheck::kOk) << bad;
  }
  // A line torn by a kernel message in the middle.
  std::string torn = good.substr(0, 12) + "[ 3.0] eth0 up" + good.substr(12);
  EXPECT_EQ(ParseHeartbeat(torn, "n1", &hb), RecordCheck::kBadSeal);
  EXPECT_EQ(ParseHeartbeat(good.substr(0, good.size() - 3), "n1", &hb), RecordCheck::kBadSeal);
  EXPECT_EQ(ParseHeartbeat("no record here", "n1", &hb), RecordCheck::kNone);
}

TEST(Status, ParsesFields) {
  std::string line = protocol::FormatStatus("n1", "stressor", "name=io ops=12 bytes=4096");
  AgentStatus st;
  ASSERT_EQ(ParseStatus(line, "n1", &st), RecordCheck::kOk);
  EXPECT_EQ(st.event, "stressor");
  EXPECT_EQ(st.fields["name"], "io");
  EXPECT_EQ(st.fields["bytes"], "4096");
  EXPECT_EQ(ParseStatus(line, "n2", &st), RecordCheck::kForeign);
}

}  // namespace
}  // namespace blackout
