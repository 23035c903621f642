#include "devnet/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"

namespace relay::devnet {
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
                           {"body", request.body}};
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
  uint16_t start(HttpServer::Options options = {}) {
    server_ = std::make_unique<HttpServer>(options, echo_handler);
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
  EXPECT_EQ(too_large.body(), R"({"Error":"request body too large"})");
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
  EXPECT_NE(reply.find(R"({"Error":"request body too large"})"), std::string::npos);
}

TEST_F(HttpServerTest, HeaderAboveLimitIsRefused) {
  Client client(start());
  client.write_raw("GET /x HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(20 * 1024, 'h') +
                   "\r\n\r\n");
  std::string reply = client.read_until_eof();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 431")) << reply.substr(0, 100);
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndConnectionSurvives) {
  Client client(start());
  Response response = client.get("/throw");
  EXPECT_EQ(response.result_int(), 500);
  EXPECT_EQ(response.body(), R"({"Error":"internal error: boom"})");
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
  HttpServer never_started({}, echo_handler);
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

}  // namespace
}  // namespace relay::devnet
