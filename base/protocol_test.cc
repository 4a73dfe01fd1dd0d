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

TEST(Crc32, IsTheIeeeCheckValue) {
  EXPECT_EQ(protocol::Crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(protocol::Crc32("", 0), 0u);
  // Every length and alignment against the bit-by-bit definition.
  auto slow = [](const char* d, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
      crc ^= static_cast<unsigned char>(d[i]);
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
  };
  std::string text;
  for (int i = 0; i < 80; ++i) text += static_cast<char>(i * 37 + 200);
  for (size_t at = 0; at < 9; ++at) {
    for (size_t n = 0; at + n <= text.size(); ++n) ASSERT_EQ(protocol::Crc32(text.data() + at, n), slow(text.data() + at, n));
  }
}

TEST(ParseCount, TakesEveryUint64AndNothingElse) {
  EXPECT_EQ(ParseCount("0"), 0u);
  EXPECT_EQ(ParseCount("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseCount("18446744073709551616"), std::nullopt);
  EXPECT_EQ(ParseCount("99999999999999999999"), std::nullopt);
  EXPECT_EQ(ParseCount(""), std::nullopt);
  EXPECT_EQ(ParseCount("-1"), std::nullopt);
  EXPECT_EQ(ParseCount("1 "), std::nullopt);
  EXPECT_EQ(ParseCount("0x10"), std::nullopt);
}

TEST(Heartbeat, WordCountAndSeparatorsAreChecked) {
  Heartbeat hb;
  using protocol::kHeartbeatMarker;
  EXPECT_EQ(ParseHeartbeat(protocol::Seal(kHeartbeatMarker, "n1 0 1 2 3"), "n1", &hb), RecordCheck::kBadSeal);
  EXPECT_EQ(ParseHeartbeat(protocol::Seal(kHeartbeatMarker, "n1 0 1"), "n1", &hb), RecordCheck::kBadSeal);
  EXPECT_EQ(ParseHeartbeat(protocol::Seal(kHeartbeatMarker, "n1 4096 1 2"), "n1", &hb), RecordCheck::kBadSeal);
  ASSERT_EQ(ParseHeartbeat(protocol::Seal(kHeartbeatMarker, "n1\t4095  1 2"), "n1", &hb), RecordCheck::kOk);
  EXPECT_EQ(hb.vcpu, 4095);
  // The crc in capitals is still the crc.
  std::string line = Beat("n1", 1, 2, 3);
  for (size_t i = line.size() - 8; i < line.size(); ++i) line[i] = static_cast<char>(toupper(line[i]));
  EXPECT_EQ(ParseHeartbeat(line, "n1", &hb), RecordCheck::kOk);
}

TEST(Status, ParsesFields) {
  std::string line = protocol::FormatStatus("n1", "stressor", "name=io ops=12 bytes=4096");
  AgentStatus st;
  ASSERT_EQ(ParseStatus(line, "n1", &st), RecordCheck::kOk);
  EXPECT_EQ(st.event, "stressor");
  EXPECT_EQ(st.fields["name"], "io");
  EXPECT_EQ(st.fields["bytes"], "4096");
  EXPECT_EQ(ParseStatus(line, "n2", &st), RecordCheck::kForeign);
  // Words without '=' are skipped; a later key wins.
  line = protocol::FormatStatus("n1", "interval", "a=1 junk b= a=2");
  ASSERT_EQ(ParseStatus(line, "n1", &st), RecordCheck::kOk);
  EXPECT_EQ(st.fields, (std::map<std::string, std::string>{{"a", "2"}, {"b", ""}}));
  EXPECT_EQ(ParseStatus(protocol::Seal(protocol::kStatusMarker, "n1"), "n1", &st), RecordCheck::kBadSeal);
}

}  // namespace
}  // namespace blackout
