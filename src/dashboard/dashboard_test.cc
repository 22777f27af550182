// The dashboard's HTTP plumbing against a real HTTP client: static pages, the API's routing,
// error mapping and the same-origin protection of writes. The API's data is checked against a
// live broker by tests/compat/dashboard.js (real Chromium).
#include "ramjet/dashboard/dashboard.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "api.h"
#include "guard.h"
#include "history.h"
#include "json_views.h"

namespace ramjet::dashboard {
namespace {

metrics::HttpServer::Request Write(std::map<std::string, std::string> headers) {
  metrics::HttpServer::Request r;
  r.method = "POST";
  r.path = "/api/topics";
  r.headers = std::move(headers);
  return r;
}

TEST(Guard, WritesNeedJsonTheHeaderAndTheSameOrigin) {
  const std::map<std::string, std::string> good = {{"content-type", "application/json"},
                                                   {"x-ramjet-dashboard", "1"},
                                                   {"host", "127.0.0.1:8080"}};
  EXPECT_TRUE(CheckWrite(Write(good)).ok());
  auto with = [&](const std::string& k, const std::string& v) {
    auto h = good;
    h[k] = v;
    return CheckWrite(Write(h));
  };
  EXPECT_TRUE(with("origin", "http://127.0.0.1:8080").ok());
  EXPECT_TRUE(with("sec-fetch-site", "same-origin").ok());
  EXPECT_EQ(with("origin", "http://evil.example").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(with("origin", "http://127.0.0.1:8081").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(with("origin", "null").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(with("sec-fetch-site", "cross-site").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(with("sec-fetch-site", "same-site").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(with("content-type", "text/plain").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(with("x-ramjet-dashboard", "0").code(), StatusCode::kPermissionDenied);
  metrics::HttpServer::Request get;
  get.method = "GET";
  EXPECT_FALSE(IsWrite(get));
}

TEST(Guard, HostMustBeAnAddressLocalhostOrAllowed) {
  auto host = [](const std::string& h, std::vector<std::string> allowed = {}) {
    metrics::HttpServer::Request r;
    r.method = "GET";
    if (!h.empty()) r.headers["host"] = h;
    return CheckHost(r, allowed).ok();
  };
  EXPECT_TRUE(host("127.0.0.1:8080"));
  EXPECT_TRUE(host("10.1.2.3"));
  EXPECT_TRUE(host("localhost:8080"));
  EXPECT_TRUE(host("[::1]:8080"));
  EXPECT_TRUE(host("dash.example.com:8080", {"dash.example.com"}));
  EXPECT_TRUE(host("DASH.example.com", {"dash.example.com"}));
  // A DNS-rebinding page names its own host.
  EXPECT_FALSE(host("evil.example:8080"));
  EXPECT_FALSE(host("evil.example:8080", {"dash.example.com"}));
  EXPECT_FALSE(host("1.2.3.4.evil.example"));
  EXPECT_FALSE(host("256.1.1.1"));
  EXPECT_FALSE(host("[::1]evil:80"));
  EXPECT_FALSE(host(""));
}

TEST(Views, StatusCodesTpsAndFields) {
  EXPECT_EQ(HttpStatusOf(Status::InvalidArgument("x")), 400);
  EXPECT_EQ(HttpStatusOf(Status::PermissionDenied("x")), 403);
  EXPECT_EQ(HttpStatusOf(Status::NotFound("x")), 404);
  EXPECT_EQ(HttpStatusOf(Status::Unavailable("x")), 502);
  EXPECT_DOUBLE_EQ(FirstTps("12.50 10.00 9.00"), 12.5);
  EXPECT_DOUBLE_EQ(FirstTps(""), 0);
  EXPECT_TRUE(IsUtf8("h\xc3\xa9llo"));
  EXPECT_FALSE(IsUtf8(std::string("\xff\x00", 2)));
  Json body = {{"n", 5}, {"s", "x"}, {"b", true}, {"bad", "7"}};
  EXPECT_EQ(*IntField(body, "n", 1, 0, 10), 5);
  EXPECT_EQ(*IntField(body, "absent", 3, 0, 10), 3);
  EXPECT_FALSE(IntField(body, "n", 1, 6, 10).ok());
  EXPECT_FALSE(IntField(body, "bad", 1, 0, 10).ok());
  EXPECT_FALSE(IntField(Json::parse(R"({"n":18446744073709551615})"), "n", 1, -1, INT64_MAX).ok());
  EXPECT_FALSE(StringField(body, "absent", true).ok());
  EXPECT_EQ(*StringField(body, "s", true), "x");
  EXPECT_TRUE(*BoolField(body, "b", false));
  EXPECT_FALSE(BoolField(body, "n", false).ok());
  EXPECT_EQ(*IntParam("", "p", 9, 0, 10), 9);
  EXPECT_FALSE(IntParam("12x", "p", 9, 0, 100).ok());
  EXPECT_FALSE(IntParam("-1", "p", 9, 0, 100).ok());
  client::MessageExt m;
  m.body = std::string("\x00\xff", 2);
  m.properties = {{"KEYS", "k1 k2"}, {"TAGS", "t"}};
  Json d = DetailOf(m, "b");
  EXPECT_EQ(d["bodyEncoding"], "base64");
  EXPECT_EQ(d["body"], "AP8=");
  EXPECT_EQ(d["keys"], "k1 k2");
  EXPECT_EQ(d["tags"], "t");
}

// A dashboard whose name server does not answer: pages are served, the API routes and maps
// errors, writes are guarded before anything is sent.
TEST(DashboardServer, ServesPagesRoutesAndGuards) {
  DashboardOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.namesrv_addr = "127.0.0.1:1";  // nothing listens there
  o.admin_timeout_ms = 500;
  auto d = Dashboard::Start(o);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  httplib::Client http("127.0.0.1", (*d)->port());
  auto page = http.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<"), std::string::npos);
  EXPECT_EQ(page->get_header_value("X-Frame-Options"), "DENY");
  EXPECT_EQ(http.Get("/nothing-here")->status, 404);

  auto down = http.Get("/api/cluster");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 502);
  EXPECT_NE(Json::parse(down->body)["error"].get<std::string>(), "");
  EXPECT_EQ(http.Get("/api/no-such-thing")->status, 404);
  EXPECT_EQ(http.Delete("/api/overview")->status, 403);  // a write without the header
  EXPECT_EQ(http.Get("/api/topics/bad%20name/status")->status, 400);
  EXPECT_EQ(http.Get("/api/messages?topic=T&max=0")->status, 400);

  httplib::Headers ok = {{"X-Ramjet-Dashboard", "1"}};
  EXPECT_EQ(http.Delete("/api/overview", ok, "", "application/json")->status, 405);
  auto bad_json = http.Post("/api/topics", ok, "{not json", "application/json");
  EXPECT_EQ(bad_json->status, 400);
  auto bad_name = http.Post("/api/topics", ok, R"({"topic":"a/b"})", "application/json");
  EXPECT_EQ(bad_name->status, 400);
  auto bad_type =
      http.Post("/api/topics", ok, R"({"topic":"T","readQueueNums":"8"})", "application/json");
  EXPECT_EQ(bad_type->status, 400);
  httplib::Client rebound("127.0.0.1", (*d)->port());
  auto named = rebound.Get("/api/cluster", {{"Host", "evil.example"}});
  ASSERT_TRUE(named);
  EXPECT_EQ(named->status, 403) << "a DNS-rebinding page's Host";
  EXPECT_EQ(http.Head("/api/cluster")->status, 502) << "HEAD is answered as GET";
  httplib::Headers cross = {{"X-Ramjet-Dashboard", "1"}, {"Origin", "http://evil.example"}};
  auto refused = http.Post("/api/topics", cross, R"({"topic":"T"})", "application/json");
  EXPECT_EQ(refused->status, 403);
  EXPECT_TRUE(refused->get_header_value("Access-Control-Allow-Origin").empty());
  (*d)->Stop();
}

TEST(DashboardServer, ATakenPortIsAnError) {
  DashboardOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.namesrv_addr = "127.0.0.1:1";
  auto first = Dashboard::Start(o);
  ASSERT_TRUE(first.ok());
  o.port = (*first)->port();
  auto second = Dashboard::Start(o);
  EXPECT_FALSE(second.ok());
}

}  // namespace
}  // namespace ramjet::dashboard
