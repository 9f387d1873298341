// End-to-end tests of the HTTP server and client. Everything talks to
// 127.0.0.1 on an ephemeral port. No assertion depends on how long
// something took: time-outs only bound how long we wait for an outcome.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/http/client.hpp"
#include "runtime/http/server.hpp"
#include "tests/support/raw_connection.hpp"

namespace portcullis::runtime::http {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A generous bound for "eventually": only reached when something is broken.
constexpr auto kEventually = 15s;

using portcullis::testing::RawConnection;

bool connection_refused(std::uint16_t port) {
  RawConnection c(port);
  return !c.connected() && c.connect_errno() == ECONNREFUSED;
}

Response echo(const Request& req) {
  json headers = json::object();
  for (const auto& h : req.headers) headers[h.name] = h.value;
  json query = json::array();
  for (const auto& [k, v] : parse_query(req.query())) query.push_back({k, v});
  Response r;
  r.body = json{{"method", req.method},
                {"target", req.target},
                {"path", std::string(req.path())},
                {"query", query},
                {"headers", headers},
                {"body", req.body},
                {"remote", req.remote}}
               .dump();
  r.headers.push_back({"X-Echo", "yes"});
  return r;
}

std::unique_ptr<Server> start(ServerOptions options, Handler handler) {
  options.address = "127.0.0.1";
  options.port = 0;
  auto server = start_server(options, std::move(handler));
  if (!server.ok()) {
    ADD_FAILURE() << "start_server: " << server.error().message;
    return nullptr;
  }
  return std::move(server).value();
}

std::string base_url(const Server& server) { return "http://127.0.0.1:" + std::to_string(server.port()); }

ClientOptions client_options(std::string url, std::string token = {}) {
  ClientOptions o;
  o.base_url = std::move(url);
  o.bearer_token = std::move(token);
  return o;
}

const std::string* find_header(const Response& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (header_equals(h.name, name)) return &h.value;
  }
  return nullptr;
}

TEST(HttpServer, EchoRoundTrip) {
  auto server = start({}, echo);
  ASSERT_TRUE(server);
  ASSERT_NE(server->port(), 0);
  Client client(client_options(base_url(*server), "tok"));

  auto res = client.post("/v1/things?a=1&b=x%20y&flag", R"({"k":"v"})", {{"X-Test", "hello"}});
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->content_type, "application/json");
  ASSERT_NE(find_header(*res, "X-Echo"), nullptr);
  ASSERT_NE(find_header(*res, "Server"), nullptr);
  EXPECT_EQ(*find_header(*res, "Server"), "portcullis");
  ASSERT_NE(find_header(*res, "Content-Length"), nullptr);
  EXPECT_EQ(*find_header(*res, "Content-Length"), std::to_string(res->body.size()));

  const auto body = json::parse(res->body);
  EXPECT_EQ(body["method"], "POST");
  EXPECT_EQ(body["target"], "/v1/things?a=1&b=x%20y&flag");
  EXPECT_EQ(body["path"], "/v1/things");
  EXPECT_EQ(body["query"], json::parse(R"([["a","1"],["b","x y"],["flag",""]])"));
  EXPECT_EQ(body["headers"]["X-Test"], "hello");
  EXPECT_EQ(body["headers"]["Authorization"], "Bearer tok");
  EXPECT_EQ(body["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(body["body"], R"({"k":"v"})");
  EXPECT_EQ(body["remote"].get<std::string>().rfind("127.0.0.1:", 0), 0U);

  auto got = client.get("/plain");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(json::parse(got->body)["method"], "GET");
  EXPECT_EQ(json::parse(got->body)["body"], "");

  auto del = client.send("DELETE", "/v1/things/1");
  ASSERT_TRUE(del.ok()) << del.error().message;
  EXPECT_EQ(json::parse(del->body)["method"], "DELETE");
}

TEST(HttpServer, HandlerStatusAndHeadersPassThrough) {
  auto server = start({}, [](const Request&) {
    Response r;
    r.status = 429;
    r.content_type = "text/plain";
    r.headers.push_back({"Retry-After", "3"});
    r.body = "slow down";
    return r;
  });
  ASSERT_TRUE(server);
  Client client(client_options(base_url(*server)));
  auto res = client.get("/");
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->content_type, "text/plain");
  ASSERT_NE(find_header(*res, "Retry-After"), nullptr);
  EXPECT_EQ(*find_header(*res, "Retry-After"), "3");
  EXPECT_EQ(res->body, "slow down");
}

TEST(HttpServer, KeepAliveReusesOneConnection) {
  auto server = start({}, echo);
  ASSERT_TRUE(server);
  Client client(client_options(base_url(*server)));
  std::set<std::string> remotes;
  for (int i = 0; i < 3; ++i) {
    auto res = client.get("/k");
    ASSERT_TRUE(res.ok()) << res.error().message;
    remotes.insert(json::parse(res->body)["remote"].get<std::string>());
  }
  EXPECT_EQ(remotes.size(), 1U);

  // A second client is a second connection (the remote port differs).
  Client other(client_options(base_url(*server)));
  auto res = other.get("/k");
  ASSERT_TRUE(res.ok()) << res.error().message;
  remotes.insert(json::parse(res->body)["remote"].get<std::string>());
  EXPECT_EQ(remotes.size(), 2U);
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  auto server = start({}, echo);
  ASSERT_TRUE(server);
  RawConnection c(server->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  std::string got;
  EXPECT_TRUE(c.read_until_closed(got));
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0U) << got;
  EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
}

TEST(HttpServer, Http10WithoutKeepAliveCloses) {
  auto server = start({}, echo);
  ASSERT_TRUE(server);
  RawConnection c(server->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("GET /x HTTP/1.0\r\n\r\n"));
  std::string got;
  EXPECT_TRUE(c.read_until_closed(got));
  EXPECT_EQ(got.rfind("HTTP/1.0 200", 0), 0U) << got;
}

TEST(HttpServer, HeadResponseHasLengthButNoBody) {
  auto server = start({}, echo);
  ASSERT_TRUE(server);
  RawConnection c(server->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("HEAD /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  std::string got;
  EXPECT_TRUE(c.read_until_closed(got));
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0U) << got;
  EXPECT_NE(got.find("Content-Length: "), std::string::npos) << got;
  EXPECT_EQ(got.find("Content-Length: 0"), std::string::npos) << got;
  const auto end = got.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(got.size(), end + 4) << "a body followed the HEAD response";
}

TEST(HttpServer, OversizeBodyGets413) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  std::atomic<int> calls{0};
  auto server = start(options, [&](const Request& r) {
    ++calls;
    return echo(r);
  });
  ASSERT_TRUE(server);
  Client client(client_options(base_url(*server)));
  auto res = client.post("/big", std::string(64 * 1024, 'x'));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(calls.load(), 0);

  // Exactly at the limit is fine, and the client recovers onto a new connection.
  auto ok = client.post("/fits", std::string(1024, 'y'));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(calls.load(), 1);
}

TEST(HttpServer, ExpectContinueIsAnsweredBeforeTheBody) {
  auto server = start({}, echo);
  ASSERT_TRUE(server);
  RawConnection c(server->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all(
      "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"));
  std::string got;
  ASSERT_TRUE(c.read_until("\r\n\r\n", got));
  EXPECT_EQ(got.rfind("HTTP/1.1 100", 0), 0U) << got;
  ASSERT_TRUE(c.send_all("hello"));
  EXPECT_TRUE(c.read_until_closed(got));
  EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  EXPECT_NE(got.find(R"("body":"hello")"), std::string::npos) << got;
}

TEST(HttpServer, HugeHeaderGets431) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  auto server = start(options, echo);
  ASSERT_TRUE(server);
  Client client(client_options(base_url(*server)));
  auto res = client.get("/h");
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
  auto big = client.send("GET", "/h", {}, {{"X-Big", std::string(8 * 1024, 'a')}});
  ASSERT_TRUE(big.ok()) << big.error().message;
  EXPECT_EQ(big->status, 431);
}

TEST(HttpServer, GarbageGets400AndClose) {
  auto server = start({}, echo);
  ASSERT_TRUE(server);
  RawConnection c(server->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("this is not http at all\r\n\r\n"));
  std::string got;
  EXPECT_TRUE(c.read_until_closed(got));
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0U) << got;
}

TEST(HttpServer, PartialHeaderIsClosedAfterHeaderTimeout) {
  ServerOptions options;
  options.header_timeout = 200ms;
  auto server = start(options, echo);
  ASSERT_TRUE(server);
  RawConnection c(server->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("GET /slow HTTP/1.1\r\nHost: t\r\n"));  // and nothing more
  std::string got;
  EXPECT_TRUE(c.read_until_closed(got)) << "the server kept the connection open";
  EXPECT_EQ(got.find("200"), std::string::npos) << got;
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosed) {
  ServerOptions options;
  options.idle_timeout = 200ms;
  auto server = start(options, echo);
  ASSERT_TRUE(server);
  RawConnection c(server->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("GET /idle HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string got;
  EXPECT_TRUE(c.read_until_closed(got)) << "the server kept the idle connection open";
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0U) << got;
}

TEST(HttpServer, HandlerExceptionGets500) {
  std::mutex mu;
  std::vector<std::string> logged;
  ServerOptions options;
  options.log = [&](std::string_view line) {
    std::lock_guard lock(mu);
    logged.emplace_back(line);
  };
  auto server = start(options, [](const Request& r) -> Response {
    if (r.path() == "/throw") throw std::runtime_error("boom");
    return echo(r);
  });
  ASSERT_TRUE(server);
  Client client(client_options(base_url(*server)));
  auto res = client.get("/throw");
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(json::parse(res->body), json::parse(R"({"error":{"code":"internal","message":"internal error"}})"));
  // The connection survives a handler failure.
  auto after = client.get("/fine");
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->status, 200);
  std::lock_guard lock(mu);
  ASSERT_EQ(logged.size(), 1U);
  EXPECT_NE(logged[0].find("boom"), std::string::npos);
}

TEST(HttpServer, StopLetsInFlightRequestFinish) {
  std::promise<void> slow_started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto server = start({}, [&](const Request& r) {
    if (r.path() == "/slow") {
      slow_started.set_value();
      released.wait();
      Response res;
      res.body = R"({"slow":"done"})";
      return res;
    }
    return echo(r);
  });
  ASSERT_TRUE(server);
  const auto port = server->port();

  // An idle keep-alive connection opened before stop().
  Client idle(client_options(base_url(*server)));
  ASSERT_TRUE(idle.get("/warm").ok());

  auto slow = std::async(std::launch::async, [url = base_url(*server)] {
    Client c(client_options(url));
    return c.get("/slow");
  });
  ASSERT_EQ(slow_started.get_future().wait_for(kEventually), std::future_status::ready);

  auto stopping = std::async(std::launch::async, [&] { server->stop(); });
  // stop() has begun once the listener is gone.
  const auto deadline = std::chrono::steady_clock::now() + kEventually;
  while (!connection_refused(port) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(connection_refused(port));

  // A new request on a connection that is still open is turned away.
  auto late = idle.get("/late");
  ASSERT_TRUE(late.ok()) << late.error().message;
  EXPECT_EQ(late->status, 503);

  release.set_value();
  auto res = slow.get();
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"slow":"done"})");
  ASSERT_EQ(stopping.wait_for(kEventually), std::future_status::ready);

  EXPECT_TRUE(connection_refused(port));
  server->stop();  // idempotent
  server.reset();  // and the destructor's stop() too
}

TEST(HttpServer, ConcurrentClientsAllGetTheirAnswers) {
  ServerOptions options;
  options.io_threads = 2;
  options.worker_threads = 4;
  auto server = start(options, echo);
  ASSERT_TRUE(server);
  constexpr int kThreads = 8;
  constexpr int kRequests = 50;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client client(client_options(base_url(*server)));
      for (int i = 0; i < kRequests; ++i) {
        const auto body = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto res = client.post("/c?i=" + std::to_string(i), body);
        if (!res.ok() || res->status != 200) continue;
        const auto j = json::parse(res->body);
        if (j["body"] == body && j["query"][0][1] == std::to_string(i)) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), kThreads * kRequests);
}

TEST(HttpServer, StartErrors) {
  ServerOptions bad_options;
  bad_options.address = "not-an-address";
  auto bad = start_server(bad_options, echo);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid);

  auto first = start({}, echo);
  ASSERT_TRUE(first);
  ServerOptions same;
  same.port = first->port();
  auto second = start_server(same, echo);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::io);
}

TEST(HttpClient, ErrorWhenNothingListensHidesTheToken) {
  std::uint16_t port = 0;
  {
    auto server = start({}, echo);
    ASSERT_TRUE(server);
    port = server->port();
  }  // stopped and destroyed: nothing listens there now
  ASSERT_TRUE(connection_refused(port));
  auto options = client_options("http://127.0.0.1:" + std::to_string(port), "secret-token-123");
  options.timeout = 10s;
  Client client(options);
  auto res = client.get("/v1/requests");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, ErrorCode::io);
  EXPECT_NE(res.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << res.error().message;
  EXPECT_EQ(res.error().message.find("secret-token-123"), std::string::npos) << res.error().message;
}

}  // namespace
}  // namespace portcullis::runtime::http
