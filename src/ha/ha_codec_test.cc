#include "ramjet/ha/ha_codec.h"

#include <gtest/gtest.h>

namespace ramjet::ha {
namespace {

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

// Golden frames: the bytes RocketMQ 4.9's HAClient and HAConnection put on the wire
// (ByteBuffer, big-endian): putLong(offset) / putLong(offset).putInt(size).
TEST(HaCodecTest, GoldenFrames) {
  EXPECT_EQ(Hex(EncodeReport(0)), "0000000000000000");
  EXPECT_EQ(Hex(EncodeReport(0x40000000LL + 0x1234)), "0000000040001234");
  EXPECT_EQ(Hex(EncodeTransferHeader(1LL << 30, 32768)), "000000004000000000008000");
  EXPECT_EQ(Hex(EncodeTransferHeader(0x0102030405060708LL, 0)), "010203040506070800000000");
}

TEST(HaCodecTest, ReportDecoderKeepsTheLastCompleteReport) {
  ReportDecoder d;
  std::string two = EncodeReport(100) + EncodeReport(200);
  // Split across reads, three bytes of a third report left over.
  auto r = d.Feed(std::string_view(two).substr(0, 5));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  r = d.Feed(two.substr(5) + EncodeReport(300).substr(0, 3));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(*r);
  EXPECT_EQ(**r, 200);
  r = d.Feed(EncodeReport(300).substr(3));
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(**r, 300);
  EXPECT_FALSE(d.Feed(EncodeReport(-5)).ok());
}

TEST(HaCodecTest, TransferDecoderSplitsFramesAcrossReads) {
  TransferDecoder d(1024);
  std::string stream = EncodeTransferHeader(4096, 5) + "hello" + EncodeTransferHeader(4101, 0) +
                       EncodeTransferHeader(4101, 3) + "abc";
  // Byte by byte: every frame comes out whole, in order.
  std::vector<std::pair<int64_t, std::string>> got;
  for (char c : stream) {
    d.Feed(std::string_view(&c, 1));
    for (;;) {
      auto f = d.Next();
      ASSERT_TRUE(f.ok());
      if (!*f) break;
      got.emplace_back((*f)->master_offset, std::string((*f)->body));
    }
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(int64_t{4096}, std::string("hello")));
  EXPECT_EQ(got[1], std::make_pair(int64_t{4101}, std::string()));
  EXPECT_EQ(got[2], std::make_pair(int64_t{4101}, std::string("abc")));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(HaCodecTest, TransferDecoderRefusesImpossibleHeaders) {
  TransferDecoder big(1024);
  big.Feed(EncodeTransferHeader(0, 1025));
  EXPECT_FALSE(big.Next().ok());
  TransferDecoder negative(1024);
  negative.Feed(EncodeTransferHeader(-1, 0));
  EXPECT_FALSE(negative.Next().ok());
  TransferDecoder size(1024);
  size.Feed(EncodeTransferHeader(0, -3));
  EXPECT_FALSE(size.Next().ok());
}

}  // namespace
}  // namespace ramjet::ha
