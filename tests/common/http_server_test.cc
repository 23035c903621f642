#include "common/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "common/log.h"

namespace relay::common {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Response = http::response<http::string_body>;

// Echoes the request as JSON, except for a few paths that exercise the server's other replies.
HttpResponse echo_handler(const HttpRequest& request) {
  if (request.path == "/throw") throw std::runtime_error("boom");
  if (request.path == "/text")
    return HttpResponse{.status = 200, .content_type = "text/plain", .body = "plain"};
  if (request.path == "/missing")
    return HttpResponse{
        .status = 404, .content_type = "application/json", .body = R"({"Error":"nope"})"};
  boost::json::object echo{{"method", request.method},
                           {"path", request.path},
                           {"query", request.query},
                           {"body", request.body},
                           {"request_id", request.request_id},
                           {"remote_address", request.remote_address},
                           {"x_test", request.header("x-TEST")}};
  return HttpResponse{
      .status = 200, .content_type = "application/json", .body = common::json_to_string(echo)};
}

// GCC 12 warns (-Wmissing-field-initializers) about designated initializers that leave members
// out, so options are built by assignment.
template <typename Fill>
HttpServer::Options options(Fill fill) {
  HttpServer::Options options;
  fill(options);
  return options;
}

boost::json::object parse(const std::string& body) {
  auto parsed = common::parse_json_object(body);
  EXPECT_TRUE(parsed.ok()) << body;
  return parsed.ok() ? *parsed : boost::json::object{};
}

// A synchronous keep-alive client on one connection.
class Client {
 public:
  explicit Client(uint16_t port) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  Response send(http::request<http::string_body> request) {
    request.set(http::field::host, "127.0.0.1");
    request.prepare_payload();
    http::write(stream_, request);
    Response response;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (request.method() == http::verb::head) parser.skip(true);
    http::read(stream_, buffer_, parser);
    return parser.release();
  }

  Response get(std::string target) { return send({http::verb::get, target, 11}); }
  Response post(std::string target, std::string body) {
    http::request<http::string_body> request{http::verb::post, target, 11};
    request.set(http::field::content_type, "application/json");
    request.body() = std::move(body);
    return send(std::move(request));
  }

  void write_raw(const std::string& bytes) { asio::write(stream_.socket(), asio::buffer(bytes)); }

  // Everything the server sends until it closes the connection.
  std::string read_until_eof() {
    std::string out(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(buffer_.size());
    std::array<char, 4096> chunk;
    beast::error_code ec;
    for (;;) {
      size_t n = stream_.socket().read_some(asio::buffer(chunk), ec);
      out.append(chunk.data(), n);
      if (ec) break;
    }
    return out;
  }

  // True once the server has closed its side: a read returns EOF (or a reset).
  bool closed_by_server() {
    std::array<char, 1> byte;
    beast::error_code ec;
    stream_.socket().read_some(asio::buffer(byte), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  uint16_t start(HttpServer::Options options = {}, HttpHandler handler = echo_handler) {
    server_ = std::make_unique<HttpServer>(std::move(options), std::move(handler));
    auto port = server_->start();
    EXPECT_TRUE(port.ok()) << (port.ok() ? "" : port.error().message);
    port_ = port.ok() ? *port : 0;
    return port_;
  }

  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
};

TEST_F(HttpServerTest, GetSplitsPathAndQuery) {
  Client client(start());
  Response response = client.get("/wallet/getnowblock?visible=true&x=a%20b");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  auto echo = parse(response.body());
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_EQ(echo["path"], "/wallet/getnowblock");
  EXPECT_EQ(echo["query"], "visible=true&x=a%20b");
  EXPECT_EQ(echo["body"], "");
}

TEST_F(HttpServerTest, PostPassesBody) {
  Client client(start());
  Response response = client.post("/wallet/getaccount", R"({"address":"T..."})");
  EXPECT_EQ(response.result_int(), 200);
  auto echo = parse(response.body());
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["path"], "/wallet/getaccount");
  EXPECT_EQ(echo["query"], "");
  EXPECT_EQ(echo["body"], R"({"address":"T..."})");
}

TEST_F(HttpServerTest, HandlerChoosesStatusAndContentType) {
  Client client(start());
  Response text = client.get("/text");
  EXPECT_EQ(text.result_int(), 200);
  EXPECT_EQ(text[http::field::content_type], "text/plain");
  EXPECT_EQ(text.body(), "plain");
  Response missing = client.get("/missing");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(missing.body(), R"({"Error":"nope"})");
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Client client(start());
  Response first = client.post("/a", "1");
  EXPECT_TRUE(first.keep_alive());
  Response second = client.post("/b", "2");
  EXPECT_EQ(parse(first.body())["path"], "/a");
  EXPECT_EQ(parse(second.body())["path"], "/b");
  EXPECT_EQ(parse(second.body())["body"], "2");
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  Client client(start());
  http::request<http::string_body> request{http::verb::get, "/x", 11};
  request.keep_alive(false);
  Response response = client.send(std::move(request));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveIsClosed) {
  Client client(start());
  Response response = client.send({http::verb::get, "/x", 10});
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(HttpServerTest, HeadGetsLengthWithoutBody) {
  Client client(start());
  Response head = client.send({http::verb::head, "/x", 11});
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_TRUE(head.body().empty());
  EXPECT_GT(std::stoul(std::string(head[http::field::content_length])), 0U);
  // Had the body been sent anyway, this reply would be read out of the HEAD reply's bytes.
  Response get = client.get("/after");
  EXPECT_EQ(parse(get.body())["path"], "/after");
}

TEST_F(HttpServerTest, BodyAtLimitIsAcceptedAndAboveIs413) {
  Client client(start(options([](auto& o) { o.max_body_bytes = 1024; })));
  Response at_limit = client.post("/x", std::string(1024, 'a'));
  EXPECT_EQ(at_limit.result_int(), 200);

  Response too_large = client.post("/x", std::string(10 * 1024, 'a'));
  EXPECT_EQ(too_large.result_int(), 413);
  auto error = parse(too_large.body())["error"].as_object();
  EXPECT_EQ(error["code"], "payload_too_large");
  EXPECT_EQ(error["message"], "request body too large");
  EXPECT_EQ(error["request_id"], too_large["X-Request-Id"]);
  EXPECT_FALSE(too_large.keep_alive());
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(HttpServerTest, ChunkedBodyAboveLimitIs413) {
  Client client(start(options([](auto& o) { o.max_body_bytes = 1024; })));
  std::string chunk(2000, 'b');
  client.write_raw("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" +
                   chunk + "\r\n0\r\n\r\n");
  std::string reply = client.read_until_eof();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 413")) << reply;
  EXPECT_NE(reply.find(R"("code":"payload_too_large")"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, HeaderAboveLimitIsRefused) {
  Client client(start());
  client.write_raw("GET /x HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(20 * 1024, 'h') +
                   "\r\n\r\n");
  std::string reply = client.read_until_eof();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 431")) << reply.substr(0, 100);
  EXPECT_NE(reply.find(R"("code":"header_too_large")"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, HandlerExceptionIs500WithoutItsTextAndConnectionSurvives) {
  std::ostringstream log_lines;
  Logger logger(log_lines);
  Client client(start(options([&](auto& o) { o.logger = &logger; })));
  Response response = client.get("/throw");
  EXPECT_EQ(response.result_int(), 500);
  auto error = parse(response.body())["error"].as_object();
  EXPECT_EQ(error["code"], "internal");
  EXPECT_EQ(error["message"], "internal error");
  EXPECT_EQ(response.body().find("boom"), std::string::npos);
  // The text goes to the log instead, with the request id that ties it to the reply.
  EXPECT_NE(log_lines.str().find("boom"), std::string::npos);
  EXPECT_NE(log_lines.str().find(std::string(response["X-Request-Id"])), std::string::npos);
  EXPECT_EQ(client.get("/ok").result_int(), 200);
}

TEST_F(HttpServerTest, GarbageIs400AndClose) {
  Client client(start());
  client.write_raw("\x01\x02 this is not http\r\n\r\n");
  std::string reply = client.read_until_eof();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  // The server still serves other clients.
  Client other(port_);
  EXPECT_EQ(other.get("/x").result_int(), 200);
}

TEST_F(HttpServerTest, StopWithIdleConnectionIsPromptAndClosesIt) {
  Client client(start());
  EXPECT_EQ(client.get("/x").result_int(), 200);
  Client never_sent(port_);  // accepted, but waiting for its first header
  auto begin = std::chrono::steady_clock::now();
  server_->stop();
  auto elapsed = std::chrono::steady_clock::now() - begin;
  EXPECT_LT(elapsed, std::chrono::seconds(5));  // the idle timeout is a minute
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_TRUE(never_sent.closed_by_server());
  server_->stop();  // idempotent
}

TEST_F(HttpServerTest, StopDuringTrafficEndsEveryClient) {
  uint16_t port = start();
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      // Each client runs until the server goes away under it: a reset, EOF or refused connect.
      try {
        for (;;) {
          Client client(port);
          for (int i = 0; i < 5; ++i) {
            client.post("/x", "y");
            ++answered;
          }
        }
      } catch (const std::exception&) {
      }
    });
  }
  while (answered < 200) std::this_thread::yield();
  server_->stop();
  for (auto& client : clients) client.join();
}

TEST_F(HttpServerTest, StopWithoutStartAndDestructorAreSafe) {
  HttpServer never_started(HttpServer::Options{}, echo_handler);
  never_started.stop();
  never_started.stop();
}

TEST_F(HttpServerTest, CanStartAgainAfterStop) {
  Client(start()).get("/x");
  server_->stop();
  auto port = server_->start();
  ASSERT_TRUE(port.ok()) << port.error().message;
  EXPECT_EQ(Client(*port).get("/again").result_int(), 200);
}

TEST_F(HttpServerTest, PortInUseIsListenFailed) {
  uint16_t port = start();
  HttpServer second(options([port](auto& o) { o.port = port; }), echo_handler);
  auto result = second.start();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "listen_failed");
  EXPECT_NE(result.error().message.find("in use"), std::string::npos) << result.error().message;
}

TEST_F(HttpServerTest, UnassignableAddressIsListenFailed) {
  // TEST-NET-1: not an address of this host.
  HttpServer server(options([](auto& o) { o.host = "192.0.2.1"; }), echo_handler);
  auto result = server.start();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "listen_failed");
}

TEST_F(HttpServerTest, ConcurrentClientsAreAllAnswered) {
  uint16_t port = start(options([](auto& o) { o.threads = 2; }));
  constexpr int kThreads = 4;
  constexpr int kRequests = 50;
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client keep_alive(port);
      for (int i = 0; i < kRequests; ++i) {
        std::string body = std::to_string(t) + "/" + std::to_string(i);
        // Alternate between one long connection and a fresh one per request.
        Response response =
            i % 2 == 0 ? keep_alive.post("/echo", body) : Client(port).post("/echo", body);
        auto parsed = common::parse_json_object(response.body());
        if (response.result_int() == 200 && parsed.ok() &&
            (*parsed)["body"] == boost::json::value(body))
          ++answered;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(answered, kThreads * kRequests);
}

TEST_F(HttpServerTest, RequestHeadersAreFoundWhateverTheirCase) {
  Client client(start());
  http::request<http::string_body> request{http::verb::get, "/x", 11};
  request.set("X-Test", "value");
  EXPECT_EQ(parse(client.send(std::move(request)).body())["x_test"], "value");

  HttpHeaders headers;
  headers.add("Content-Type", "a");
  headers.add("content-type", "b");
  EXPECT_EQ(headers.find("CONTENT-TYPE"), "a");
  headers.set("Content-TYPE", "c");
  EXPECT_EQ(headers.fields().size(), 1U);
  EXPECT_EQ(headers.find("content-type"), "c");
  EXPECT_FALSE(headers.find("content").has_value());
}

bool looks_generated(std::string_view id) {
  if (id.size() != 20 || !id.starts_with("req_")) return false;
  return id.substr(4).find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

TEST_F(HttpServerTest, EveryReplyCarriesTheRequestIdTheHandlerSaw) {
  Client client(start());
  Response first = client.get("/x");
  Response second = client.get("/x");
  std::string first_id(first["X-Request-Id"]);
  EXPECT_TRUE(looks_generated(first_id)) << first_id;
  EXPECT_EQ(parse(first.body())["request_id"], first_id.c_str());
  EXPECT_NE(first_id, std::string(second["X-Request-Id"]));
  // Server-made replies too.
  EXPECT_TRUE(looks_generated(client.get("/throw")["X-Request-Id"]));
}

TEST_F(HttpServerTest, AWellFormedIncomingRequestIdIsKeptAndABadOneReplaced) {
  Client client(start());
  http::request<http::string_body> good{http::verb::get, "/x", 11};
  good.set("X-Request-Id", "trace-42.a:b_c");
  Response kept = client.send(std::move(good));
  EXPECT_EQ(kept["X-Request-Id"], "trace-42.a:b_c");
  EXPECT_EQ(parse(kept.body())["request_id"], "trace-42.a:b_c");

  for (std::string bad :
       {std::string("has space"), std::string(65, 'a'), std::string("a\"b"), std::string("")}) {
    http::request<http::string_body> request{http::verb::get, "/x", 11};
    request.set("X-Request-Id", bad);
    Response replaced = client.send(std::move(request));
    EXPECT_TRUE(looks_generated(replaced["X-Request-Id"])) << bad;
  }
  EXPECT_TRUE(is_valid_request_id("req_0123456789abcdef"));
  EXPECT_FALSE(is_valid_request_id("a\r\nb"));
}

TEST_F(HttpServerTest, RemoteAddressIsThePeerWithoutPort) {
  Client client(start());
  EXPECT_EQ(parse(client.get("/x").body())["remote_address"], "127.0.0.1");
}

TEST_F(HttpServerTest, HandlerHeadersAreSentButFramingAndIdentityStayTheServers) {
  Client client(start({}, [](const HttpRequest&) {
    HttpResponse response{.status = 405, .content_type = "application/json", .body = "{}"};
    response.headers.add("Allow", "GET, POST");
    response.headers.add("Retry-After", "3");
    response.headers.add("Content-Length", "999");
    response.headers.add("X-Request-Id", "forged");
    response.headers.add("Connection", "close");
    response.headers.add("X-Injected", "a\r\nSet-Cookie: x=1");
    return response;
  }));
  Response response = client.get("/x");
  EXPECT_EQ(response.result_int(), 405);
  EXPECT_EQ(response[http::field::allow], "GET, POST");
  EXPECT_EQ(response[http::field::retry_after], "3");
  EXPECT_EQ(response[http::field::content_length], "2");
  EXPECT_TRUE(looks_generated(response["X-Request-Id"]));
  EXPECT_TRUE(response.keep_alive());
  EXPECT_EQ(response.count("X-Injected"), 0U);
  EXPECT_EQ(response.count(http::field::set_cookie), 0U);
  EXPECT_EQ(response[http::field::server], "tronrelay");
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Client client(start());
  client.write_raw(
      "GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\nConnection: "
      "close\r\n\r\n");
  std::string replies = client.read_until_eof();
  size_t one = replies.find(R"("path":"/one")");
  size_t two = replies.find(R"("path":"/two")");
  ASSERT_NE(one, std::string::npos) << replies;
  ASSERT_NE(two, std::string::npos) << replies;
  EXPECT_LT(one, two);
}

TEST_F(HttpServerTest, BeforeHandlerCanAnswerInstead) {
  std::atomic<int> handled{0};
  Client client(
      start(options([](auto& o) {
              o.before_handler = [](const HttpRequest& request) -> std::optional<HttpResponse> {
                if (request.path != "/blocked") return std::nullopt;
                return HttpResponse{.status = 429, .content_type = "text/plain", .body = "later"};
              };
            }),
            [&](const HttpRequest& request) {
              ++handled;
              return echo_handler(request);
            }));
  Response blocked = client.get("/blocked");
  EXPECT_EQ(blocked.result_int(), 429);
  EXPECT_EQ(blocked.body(), "later");
  EXPECT_TRUE(looks_generated(blocked["X-Request-Id"]));
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(client.get("/open").result_int(), 200);
  EXPECT_EQ(handled, 1);
}

TEST_F(HttpServerTest, ErrorRendererShapesTheServersOwnReplies) {
  Client client(start(options([](auto& o) {
    o.max_body_bytes = 10;
    o.error_renderer = [](int status, const Error& error, std::string_view request_id) {
      return HttpResponse{.status = status,
                          .content_type = "text/plain",
                          .body = error.code + "|" + std::string(request_id)};
    };
  })));
  Response response = client.post("/x", std::string(100, 'a'));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(response.body(), "payload_too_large|" + std::string(response["X-Request-Id"]));
}

// Collects what the observer reports; replies can reach the client before the observer runs.
class Observations {
 public:
  void add(const HttpExchange& exchange) {
    std::lock_guard lock(mutex_);
    seen_.push_back({std::string(exchange.method), std::string(exchange.route), exchange.status,
                     exchange.latency, std::string(exchange.request_id),
                     std::string(exchange.remote_address)});
    changed_.notify_all();
  }
  struct Seen {
    std::string method, route;
    int status;
    std::chrono::nanoseconds latency;
    std::string request_id, remote_address;
  };
  std::vector<Seen> wait_for(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(5), [&] { return seen_.size() >= count; });
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Seen> seen_;
};

TEST_F(HttpServerTest, ObserverSeesRouteStatusAndLatencyOfEveryReply) {
  Observations observations;
  Client client(start(options([&](auto& o) {
                        o.max_body_bytes = 10;
                        o.observer = [&](const HttpExchange& e) { observations.add(e); };
                      }),
                      [](const HttpRequest& request) {
                        HttpResponse response = echo_handler(request);
                        response.route = "/items/{id}";
                        return response;
                      }));
  Response ok = client.get("/items/7");
  Response too_large = client.post("/items/7", std::string(100, 'a'));
  auto seen = observations.wait_for(2);
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].route, "/items/{id}");
  EXPECT_EQ(seen[0].status, 200);
  EXPECT_GT(seen[0].latency.count(), 0);
  EXPECT_EQ(seen[0].request_id, std::string(ok["X-Request-Id"]));
  EXPECT_EQ(seen[0].remote_address, "127.0.0.1");
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].route, "");  // the server answered, no route did
  EXPECT_EQ(seen[1].status, 413);
}

// Waits (bounded) until `done` holds; for states the server reaches on its own threads.
template <typename Predicate>
bool eventually(Predicate done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST_F(HttpServerTest, ConnectionsBeyondTheCapGet503AndClose) {
  uint16_t port = start(options([](auto& o) { o.max_connections = 2; }));
  auto first = std::make_unique<Client>(port);
  Client second(port);
  EXPECT_EQ(first->get("/x").result_int(), 200);
  EXPECT_EQ(second.get("/x").result_int(), 200);
  EXPECT_EQ(server_->open_connections(), 2U);

  Client third(port);
  Response refused = third.get("/x");
  EXPECT_EQ(refused.result_int(), 503);
  EXPECT_EQ(parse(refused.body())["error"].as_object()["code"], "unavailable");
  EXPECT_TRUE(looks_generated(refused["X-Request-Id"]));
  EXPECT_FALSE(refused.keep_alive());
  EXPECT_TRUE(third.closed_by_server());

  first.reset();  // frees a slot once the server sees the close
  ASSERT_TRUE(eventually([&] { return server_->open_connections() < 2; }));
  Client fourth(port);
  EXPECT_EQ(fourth.get("/x").result_int(), 200);
  EXPECT_EQ(second.get("/x").result_int(), 200);
}

TEST_F(HttpServerTest, IdleConnectionIsClosedAfterIdleTimeout) {
  Client client(start(options([](auto& o) { o.idle_timeout = std::chrono::milliseconds(50); })));
  EXPECT_EQ(client.get("/x").result_int(), 200);
  auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
}

// A handler that holds each request until the test lets it go.
class Gate {
 public:
  HttpResponse hold(const HttpRequest& request) {
    std::unique_lock lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    return echo_handler(request);
  }
  bool wait_entered(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(5), [&] { return entered_ >= count; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool open_ = false;
};

TEST_F(HttpServerTest, DrainFinishesInFlightRequestsAndClosesIdleConnections) {
  Gate gate;
  uint16_t port = start({}, [&](const HttpRequest& request) {
    return request.path == "/slow" ? gate.hold(request) : echo_handler(request);
  });
  Client idle(port);
  EXPECT_EQ(idle.get("/x").result_int(), 200);
  Client busy(port);
  auto slow = std::async(std::launch::async, [&] { return busy.get("/slow"); });
  ASSERT_TRUE(gate.wait_entered(1));

  auto drained =
      std::async(std::launch::async, [&] { return server_->drain(std::chrono::seconds(10)); });
  EXPECT_TRUE(idle.closed_by_server());
  // No new connections once draining.
  EXPECT_TRUE(eventually([&] {
    try {
      Client late(port);
      return false;
    } catch (const std::exception&) {
      return true;
    }
  }));
  EXPECT_EQ(drained.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);

  gate.open();
  Response finished = slow.get();
  EXPECT_EQ(finished.result_int(), 200);
  EXPECT_EQ(parse(finished.body())["path"], "/slow");
  EXPECT_FALSE(finished.keep_alive());  // the last request on a draining server
  EXPECT_TRUE(drained.get());
  server_->stop();  // already stopped by drain: a no-op
}

TEST_F(HttpServerTest, DrainTimeoutCutsOffUnfinishedRequests) {
  uint16_t port = start();
  Client partial(port);
  partial.write_raw("GET /x HTTP/1.1\r\nHost: h\r\n");  // the header never ends
  ASSERT_TRUE(eventually([&] { return server_->open_connections() == 1; }));
  auto begin = std::chrono::steady_clock::now();
  EXPECT_FALSE(server_->drain(std::chrono::milliseconds(100)));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5));
  EXPECT_TRUE(partial.closed_by_server());
}

TEST_F(HttpServerTest, DrainWithoutConnectionsIsImmediateAndServerCanStartAgain) {
  start();
  EXPECT_TRUE(server_->drain(std::chrono::seconds(5)));
  EXPECT_TRUE(server_->drain(std::chrono::seconds(5)));  // not running: nothing to do
  auto port = server_->start();
  ASSERT_TRUE(port.ok()) << port.error().message;
  EXPECT_EQ(Client(*port).get("/again").result_int(), 200);
}

}  // namespace
}  // namespace relay::common
