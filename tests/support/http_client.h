// TestHttpClient: a blocking HTTP/1.1 client on one keep-alive connection (Boost.Beast), for tests
// that drive a server over real sockets on 127.0.0.1. Connection errors throw, as a test failure.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace relay::testing {

class TestHttpClient {
 public:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  using Headers = std::vector<std::pair<std::string, std::string>>;

  explicit TestHttpClient(uint16_t port) : stream_(ioc_) {
    stream_.connect(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  }

  Response request(boost::beast::http::verb method, const std::string& target,
                   const std::string& body = "", const Headers& headers = {}) {
    namespace http = boost::beast::http;
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty() || method == http::verb::post) {
      request.set(http::field::content_type, "application/json");
      request.body() = body;
    }
    request.prepare_payload();
    http::write(stream_, request);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (method == http::verb::head) parser.skip(true);
    http::read(stream_, buffer_, parser);
    return parser.release();
  }

  Response get(const std::string& target, const Headers& headers = {}) {
    return request(boost::beast::http::verb::get, target, "", headers);
  }
  Response post(const std::string& target, const std::string& body, const Headers& headers = {}) {
    return request(boost::beast::http::verb::post, target, body, headers);
  }
  Response del(const std::string& target, const Headers& headers = {}) {
    return request(boost::beast::http::verb::delete_, target, "", headers);
  }

 private:
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace relay::testing
