#include "devnet/faults.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string>

#include "common/http_server.h"

namespace relay::devnet {
namespace {

using common::HttpRequest;
using common::HttpResponse;
using common::HttpServer;

// GCC 12 warns (-Wmissing-field-initializers) about designated initializers that leave members
// out, so configs are built by assignment.
template <typename Fill>
FaultConfig configure(Fill fill) {
  FaultConfig config;
  fill(config);
  return config;
}

HttpRequest request_for(std::string path) {
  return HttpRequest{.method = "POST", .path = std::move(path), .query = "", .body = "{}"};
}

TEST(FaultInjectorTest, NoConfigNeverFaults) {
  FaultInjector faults;
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(faults.before(request_for("/wallet/getnowblock")).has_value());
    EXPECT_FALSE(faults.drop_broadcast("/wallet/broadcasthex"));
  }
}

TEST(FaultInjectorTest, ErrorRateOneAnswersTheStatusWithTronGridLikeBody) {
  FaultInjector faults;
  faults.set(configure([](FaultConfig& c) {
    c.error_rate = 1;
    c.status = 429;
  }));
  auto response = faults.before(request_for("/wallet/getnowblock"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 429);
  EXPECT_EQ(response->content_type, "application/json");
  EXPECT_EQ(response->body, R"j({"Error":"rate limit exceeded (devnet fault injection)"})j");

  faults.set(configure([](FaultConfig& c) {
    c.error_rate = 1;
    c.status = 403;
  }));
  EXPECT_EQ(
      faults.before(request_for("/x"))->body,
      R"({"Error":"The key exceeds the frequency limit(15), and the query server is suspended for 30s"})");

  faults.set(configure([](FaultConfig& c) {
    c.error_rate = 1;
    c.status = 502;
  }));
  response = faults.before(request_for("/x"));
  EXPECT_EQ(response->status, 502);
  EXPECT_EQ(response->body, R"({"Error":"devnet fault injection: HTTP 502"})");
}

TEST(FaultInjectorTest, DefaultStatusIs503) {
  FaultInjector faults;
  faults.set(configure([](FaultConfig& c) { c.error_rate = 1; }));
  auto response = faults.before(request_for("/x"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, R"({"Error":"devnet fault injection: HTTP 503"})");
}

TEST(FaultInjectorTest, EndpointFilterIsAnExactPathMatch) {
  FaultInjector faults;
  faults.set(configure([](FaultConfig& c) {
    c.error_rate = 1;
    c.drop_broadcast_rate = 1;
    c.endpoints = {"/wallet/broadcasthex"};
  }));
  EXPECT_TRUE(faults.before(request_for("/wallet/broadcasthex")).has_value());
  EXPECT_FALSE(faults.before(request_for("/walletsolidity/broadcasthex")).has_value());
  EXPECT_FALSE(faults.before(request_for("/wallet/broadcasthex/")).has_value());
  EXPECT_FALSE(faults.before(request_for("/wallet/broadcast")).has_value());
  EXPECT_FALSE(faults.before(request_for("/wallet/getnowblock")).has_value());
  EXPECT_TRUE(faults.drop_broadcast("/wallet/broadcasthex"));
  EXPECT_FALSE(faults.drop_broadcast("/wallet/broadcasttransaction"));
}

TEST(FaultInjectorTest, AdminIsNeverFaulted) {
  FaultInjector faults;
  faults.set(configure([](FaultConfig& c) {
    c.latency_ms = 10'000;
    c.error_rate = 1;
    c.drop_broadcast_rate = 1;
  }));
  // Would sleep ten seconds if the latency applied.
  EXPECT_FALSE(faults.before(request_for("/admin/faults")).has_value());
  EXPECT_FALSE(faults.drop_broadcast("/admin/broadcasthex"));

  faults.set(configure([](FaultConfig& c) {
    c.error_rate = 1;
    c.endpoints = {"/admin/faults"};
  }));
  EXPECT_FALSE(faults.before(request_for("/admin/faults")).has_value());
}

TEST(FaultInjectorTest, DropBroadcastRateZeroAndOne) {
  FaultInjector faults;
  faults.set(configure([](FaultConfig& c) { c.drop_broadcast_rate = 0; }));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(faults.drop_broadcast("/wallet/broadcasthex"));
  faults.set(configure([](FaultConfig& c) { c.drop_broadcast_rate = 1; }));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(faults.drop_broadcast("/wallet/broadcasthex"));
  // Dropping is separate from erroring: nothing here answers an error.
  EXPECT_FALSE(faults.before(request_for("/wallet/broadcasthex")).has_value());
}

TEST(FaultInjectorTest, SetClearAndConfig) {
  FaultInjector faults;
  FaultConfig config{.latency_ms = 5,
                     .error_rate = 0.25,
                     .status = 502,
                     .drop_broadcast_rate = 0.5,
                     .endpoints = {"/wallet/a", "/walletsolidity/b"}};
  faults.set(config);
  FaultConfig got = faults.config();
  EXPECT_EQ(got.latency_ms, 5);
  EXPECT_EQ(got.error_rate, 0.25);
  EXPECT_EQ(got.status, 502);
  EXPECT_EQ(got.drop_broadcast_rate, 0.5);
  EXPECT_EQ(got.endpoints, config.endpoints);

  faults.clear();
  got = faults.config();
  EXPECT_EQ(got.latency_ms, 0);
  EXPECT_EQ(got.error_rate, 0);
  EXPECT_EQ(got.status, 503);
  EXPECT_EQ(got.drop_broadcast_rate, 0);
  EXPECT_TRUE(got.endpoints.empty());
  faults.set(configure([](FaultConfig& c) { c.error_rate = 1; }));
  faults.clear();
  EXPECT_FALSE(faults.before(request_for("/x")).has_value());
}

int count_errors(uint64_t seed, double rate, int calls) {
  FaultInjector faults(seed);
  faults.set(configure([rate](FaultConfig& c) { c.error_rate = rate; }));
  int errors = 0;
  for (int i = 0; i < calls; ++i) errors += faults.before(request_for("/x")).has_value() ? 1 : 0;
  return errors;
}

TEST(FaultInjectorTest, FractionalRateIsRoughlyRightAndReproducible) {
  int errors = count_errors(42, 0.5, 1000);
  // Binomial(1000, 0.5) has sd ~16; the band is over six of them wide on each side.
  EXPECT_GT(errors, 400);
  EXPECT_LT(errors, 600);
  EXPECT_EQ(count_errors(42, 0.5, 1000), errors);

  int drops = 0;
  FaultInjector faults(7);
  faults.set(configure([](FaultConfig& c) { c.drop_broadcast_rate = 0.1; }));
  for (int i = 0; i < 1000; ++i) drops += faults.drop_broadcast("/wallet/broadcasthex") ? 1 : 0;
  EXPECT_GT(drops, 40);
  EXPECT_LT(drops, 160);
}

TEST(FaultInjectorTest, LatencyIsApplied) {
  FaultInjector faults;
  faults.set(configure([](FaultConfig& c) { c.latency_ms = 50; }));
  auto begin = std::chrono::steady_clock::now();
  EXPECT_FALSE(faults.before(request_for("/x")).has_value());
  auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(elapsed, std::chrono::milliseconds(50));
  EXPECT_LT(elapsed, std::chrono::seconds(5));  // sanity only, not a performance bound

  // The latency applies only where the faults do.
  faults.set(configure([](FaultConfig& c) {
    c.latency_ms = 10'000;
    c.endpoints = {"/wallet/slow"};
  }));
  begin = std::chrono::steady_clock::now();
  EXPECT_FALSE(faults.before(request_for("/wallet/fast")).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
}

TEST(FaultInjectorTest, ServerSendsTheFaultInsteadOfCallingTheHandler) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;

  auto faults = std::make_shared<FaultInjector>();
  faults->set(configure([](FaultConfig& c) {
    c.error_rate = 1;
    c.status = 503;
    c.endpoints = {"/wallet/broadcasthex"};
  }));
  std::atomic<int> calls{0};
  // How tron-devnet's main wires the injector in: as the server's before_handler.
  HttpServer::Options options;
  options.before_handler = [faults](const HttpRequest& request) { return faults->before(request); };
  HttpServer server(options, [&](const HttpRequest& request) {
    ++calls;
    return HttpResponse{.status = 200,
                        .content_type = "application/json",
                        .body = R"({"path":")" + request.path + R"("})"};
  });
  auto port = server.start();
  ASSERT_TRUE(port.ok()) << port.error().message;

  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), *port));
  beast::flat_buffer buffer;
  auto post = [&](const std::string& target) {
    http::request<http::string_body> request{http::verb::post, target, 11};
    request.set(http::field::host, "127.0.0.1");
    request.body() = "{}";
    request.prepare_payload();
    http::write(stream, request);
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return response;
  };

  auto faulted = post("/wallet/broadcasthex");
  EXPECT_EQ(faulted.result_int(), 503);
  EXPECT_EQ(faulted.body(), R"({"Error":"devnet fault injection: HTTP 503"})");
  EXPECT_EQ(calls, 0);

  auto passed = post("/wallet/getnowblock");
  EXPECT_EQ(passed.result_int(), 200);
  EXPECT_EQ(passed.body(), R"({"path":"/wallet/getnowblock"})");
  EXPECT_EQ(calls, 1);

  auto admin = post("/admin/faults");
  EXPECT_EQ(admin.result_int(), 200);
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace relay::devnet
