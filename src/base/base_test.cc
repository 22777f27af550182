#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>

#include "ramjet/base/clock.h"
#include "ramjet/base/coding.h"
#include "ramjet/base/config.h"
#include "ramjet/base/hash.h"
#include "ramjet/base/names.h"
#include "ramjet/base/result.h"
#include "ramjet/base/service_thread.h"
#include "ramjet/base/status.h"

namespace ramjet {
namespace {

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Status::Corruption("bad crc");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.ToString(), "Corruption: bad crc");
  EXPECT_EQ(Status::FromErrno(ENOSPC, "write").code(), StatusCode::kNoSpace);
  EXPECT_EQ(Status::FromErrno(EIO, "write").code(), StatusCode::kIOError);
}

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  RJ_ASSIGN_OR_RETURN(*out, Half(x));
  return Status::OK();
}

TEST(ResultTest, ValueOrStatus) {
  int out = 0;
  EXPECT_TRUE(UseHalf(8, &out).ok());
  EXPECT_EQ(out, 4);
  Status s = UseHalf(7, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(CodingTest, BigEndian) {
  char b[8];
  EncodeBE32(b, 0xDAA320A7u);
  EXPECT_EQ(static_cast<unsigned char>(b[0]), 0xDA);
  EXPECT_EQ(static_cast<unsigned char>(b[3]), 0xA7);
  EXPECT_EQ(DecodeBE32(b), 0xDAA320A7u);
  EncodeBE64(b, 0x0102030405060708ull);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[7], 8);
  EXPECT_EQ(DecodeBE64(b), 0x0102030405060708ull);
}

TEST(HashTest, Crc32MatchesJavaCrc32) {
  // java.util.zip.CRC32 of "123456789" is 0xCBF43926 (the standard check value).
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(RocketBodyCrc("123456789"), static_cast<int32_t>(0xCBF43926u & 0x7FFFFFFF));
  EXPECT_EQ(Crc32(""), 0u);
}

TEST(HashTest, Crc32AgreesWithZlibOnEveryLengthAndAlignment) {
  std::string data(70000, '\0');
  uint32_t x = 12345;
  for (auto& c : data) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  for (size_t off : {0, 1, 3, 7}) {
    for (size_t len : {0, 1, 15, 16, 63, 64, 65, 255, 1024, 4097, 65536}) {
      std::string_view v(data.data() + off, len);
      uLong expect = crc32(0L, reinterpret_cast<const Bytef*>(v.data()), static_cast<uInt>(len));
      EXPECT_EQ(Crc32(v), static_cast<uint32_t>(expect)) << off << "/" << len;
    }
  }
}

TEST(HashTest, JavaStringHashCode) {
  // Values of java.lang.String.hashCode().
  EXPECT_EQ(JavaStringHash(""), 0);
  EXPECT_EQ(JavaStringHash("a"), 97);
  EXPECT_EQ(JavaStringHash("TagA"), 2598919);
  EXPECT_EQ(JavaStringHash("hello world"), 1794106052);
  // Wraps in 32-bit arithmetic: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
  EXPECT_EQ(JavaStringHash("polygenelubricants"), INT32_MIN);
  // Non-ASCII: hashed over UTF-16 code units. "é" (U+00E9) -> 233; "中" (U+4E2D) -> 20013.
  EXPECT_EQ(JavaStringHash("\xC3\xA9"), 233);
  EXPECT_EQ(JavaStringHash("\xE4\xB8\xAD"), 20013);
  // Supplementary character U+1F600 is the surrogate pair D83D DE00: 0xD83D*31 + 0xDE00.
  EXPECT_EQ(JavaStringHash("\xF0\x9F\x98\x80"), 0xD83D * 31 + 0xDE00);
}

TEST(ConfigTest, UpdatePropertiesTextKeepsCommentsAndOrder) {
  std::string text = "# broker\nbrokerName = broker-a\n\nlistenPort=10911\n! old\n";
  std::string out = UpdatePropertiesText(
      text, {{"listenPort", "10921"}, {"autoCreateTopicEnable", "false"}, {"brokerName", "b"}});
  EXPECT_EQ(out,
            "# broker\nbrokerName=b\n\nlistenPort=10921\n! old\nautoCreateTopicEnable=false\n");
  auto pairs = ParseProperties(out);
  ASSERT_TRUE(pairs.ok());
  EXPECT_EQ(pairs->size(), 3u);
  EXPECT_EQ(UpdatePropertiesText("", {{"a", "1"}}), "a=1\n");
}

}  // namespace
}  // namespace ramjet

namespace ramjet {
namespace {

TEST(NamesTest, RocketMqRulesForTopicsAndGroups) {
  EXPECT_TRUE(ValidateTopicName("Topic_A-1%|x").ok());
  EXPECT_TRUE(ValidateTopicName(std::string(127, 't')).ok());
  EXPECT_FALSE(ValidateTopicName(std::string(128, 't')).ok());
  EXPECT_TRUE(ValidateGroupName(std::string(255, 'g')).ok());
  EXPECT_FALSE(ValidateGroupName(std::string(256, 'g')).ok());
  for (const char* bad : {"", "a/b", "..", "a.b", "a b", "a\nb", "caf\xc3\xa9", "a\x01"}) {
    EXPECT_FALSE(ValidateTopicName(bad).ok()) << bad;
    EXPECT_FALSE(ValidateGroupName(bad).ok()) << bad;
  }
  // Every byte value, each alone and between legal characters: legal exactly when in the set.
  const std::string_view legal =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789%|_-";
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool want = legal.find(ch) != std::string_view::npos;
    EXPECT_EQ(ValidateTopicName(std::string(1, ch)).ok(), want) << c;
    EXPECT_EQ(ValidateTopicName("Topic" + std::string(1, ch) + "A").ok(), want) << c;
  }
  // The refusal names the rule and shows the name escaped.
  Status s = ValidateGroupName("a\nb");
  EXPECT_NE(s.message().find("^[%|a-zA-Z0-9_-]+$"), std::string_view::npos);
  EXPECT_EQ(s.message().find('\n'), std::string_view::npos);
}

TEST(NamesTest, EscapingKeepsOneLineOfPrintableAscii) {
  EXPECT_EQ(EscapeForLog("ok"), "ok");
  EXPECT_EQ(EscapeForLog("a\nb\"c\xff"), "a\\x0ab\\x22c\\xff");
  EXPECT_EQ(EscapeForLog(std::string(300, 'x'), 4), "xxxx...(300 bytes)");
}

TEST(NamesTest, Utf8SequenceLengths) {
  EXPECT_EQ(Utf8SequenceLength("a"), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xc3\xa9"), 2u);
  EXPECT_EQ(Utf8SequenceLength("\xe2\x9c\x93"), 3u);
  EXPECT_EQ(Utf8SequenceLength("\xf0\x9f\x98\x80"), 4u);
  EXPECT_EQ(Utf8SequenceLength("\xff"), 0u);          // never valid
  EXPECT_EQ(Utf8SequenceLength("\xc0\xaf"), 0u);      // overlong '/'
  EXPECT_EQ(Utf8SequenceLength("\xed\xa0\x80"), 0u);  // surrogate
  EXPECT_EQ(Utf8SequenceLength("\xe2\x9c"), 0u);      // truncated
}

TEST(ServiceThreadTest, AWakeEndsTheWaitAndAStopEndsTheLoop) {
  ServiceThread t("test-svc");
  std::atomic<int> rounds{0};
  t.Start([&](ServiceThread& self) {
    do {
      rounds.fetch_add(1);
    } while (self.WaitFor(60000));
  });
  for (int i = 0; i < 200 && rounds.load() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int64_t start = MonoMillis();
  t.Wake();
  for (int i = 0; i < 200 && rounds.load() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GE(rounds.load(), 2) << "a wake ends a 60 s wait";
  t.Stop();
  EXPECT_LT(MonoMillis() - start, 10000) << "a stop ends the wait too";
  EXPECT_FALSE(t.running());
  t.Stop();  // idempotent
}

TEST(ServiceThreadTest, AWakeBeforeTheWaitIsNotLost) {
  ServiceThread t("test-svc2");
  std::atomic<bool> returned{false};
  std::atomic<bool> go{false};
  t.Start([&](ServiceThread& self) {
    while (!go.load()) std::this_thread::yield();
    self.WaitFor(60000);
    returned = true;
    while (self.WaitFor(60000)) {
    }
  });
  t.Wake();  // before the body reaches WaitFor
  go = true;
  for (int i = 0; i < 400 && !returned.load(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(returned.load());
  t.Stop();
}

TEST(ConfigTableTest, RowsCarryBoundsAndUpdatePolicy) {
  int32_t port = 10911;
  bool flag = false;
  std::string name = "a";
  ConfigBinder b;
  b.Bind("listenPort", &port, "port").Range(3, 65535).Refused();
  b.Bind("traceOn", &flag, "trace").Runtime();
  b.Bind("brokerName", &name, "name");
  EXPECT_EQ(b.PolicyOf("listenPort"), UpdatePolicy::kRefused);
  EXPECT_EQ(b.PolicyOf("traceOn"), UpdatePolicy::kRuntime);
  EXPECT_EQ(b.PolicyOf("brokerName"), UpdatePolicy::kNextStart);
  EXPECT_EQ(b.PolicyOf("noSuchKey"), UpdatePolicy::kRefused);
  Status s = b.Set("listenPort", "70000");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("3..65535"), std::string::npos) << s.ToString();
  EXPECT_EQ(port, 10911) << "a refused value is not written";
  EXPECT_TRUE(b.Set("listenPort", "9000").ok());
  EXPECT_EQ(port, 9000);
  const std::string md = b.Markdown();
  EXPECT_NE(md.find("| `listenPort` | `10911` | 3..65535 | file only | port |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| `traceOn` | `false` |  | runtime | trace |"), std::string::npos) << md;
  EXPECT_NE(b.Help().find("3..65535"), std::string::npos);
}

}  // namespace
}  // namespace ramjet
