// The exposition text (escaping, histograms), process metrics and the HTTP server: a real GET
// over loopback gets the handler's body; unknown paths are 404; a taken port is an error.
#include "ramjet/metrics/metrics.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "ramjet/metrics/http_server.h"

namespace ramjet::metrics {
namespace {

TEST(MetricsTest, WriterEscapesAndWritesHistograms) {
  Writer w;
  w.Family("rocketmq_messages_in_total", "counter", "Messages in\\n");
  w.Sample("rocketmq_messages_in_total", {{"topic", "a\"b\\c\nd"}}, 3);
  Histogram h({1024, 4096});
  h.Observe(10);
  h.Observe(2000, 2);
  h.Observe(10000);
  w.Family("rocketmq_message_size", "histogram", "sizes");
  w.WriteHistogram("rocketmq_message_size", {{"topic", "T"}}, h.Read());
  EXPECT_EQ(w.text(),
            "# HELP rocketmq_messages_in_total Messages in\\\\n\n"
            "# TYPE rocketmq_messages_in_total counter\n"
            "rocketmq_messages_in_total{topic=\"a\\\"b\\\\c\\nd\"} 3\n"
            "# HELP rocketmq_message_size sizes\n"
            "# TYPE rocketmq_message_size histogram\n"
            "rocketmq_message_size_bucket{topic=\"T\",le=\"1024\"} 1\n"
            "rocketmq_message_size_bucket{topic=\"T\",le=\"4096\"} 3\n"
            "rocketmq_message_size_bucket{topic=\"T\",le=\"+Inf\"} 4\n"
            "rocketmq_message_size_sum{topic=\"T\"} 14010\n"
            "rocketmq_message_size_count{topic=\"T\"} 4\n");
}

TEST(MetricsTest, ProcessMetricsAreRead) {
  Writer w;
  WriteProcessMetrics(&w);
  EXPECT_NE(w.text().find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_EQ(w.text().find("process_resident_memory_bytes 0\n"), std::string::npos);
  EXPECT_NE(w.text().find("process_open_fds "), std::string::npos);
}

TEST(MetricsTest, HttpServerServesGetAndRefusesTheRest) {
  HttpServer s;
  s.Get("/metrics", [] { return HttpServer::Reply{"up 1\n"}; });
  ASSERT_TRUE(s.Start("127.0.0.1", 0).ok());
  ASSERT_GT(s.port(), 0);
  httplib::Client c("127.0.0.1", s.port());
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "up 1\n");
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  auto missing = c.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto post = c.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_NE(post->status, 200);
  HttpServer other;
  EXPECT_FALSE(other.Start("127.0.0.1", s.port()).ok()) << "the port is taken";
  s.Stop();
}

}  // namespace
}  // namespace ramjet::metrics
