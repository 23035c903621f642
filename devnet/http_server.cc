#include "devnet/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/json.h"
#include "devnet/faults.h"

namespace relay::devnet {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr uint32_t kHeaderLimit = 16 * 1024;
// A keep-alive connection may sit unused this long (and its next header must arrive within it).
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr auto kReadTimeout = std::chrono::seconds(30);
constexpr auto kWriteTimeout = std::chrono::seconds(30);
// After an early error reply we read and discard what the client still sends for a while: closing
// with unread input makes the kernel send RST, which can destroy the reply before it is read.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr size_t kLingerMaxBytes = 1 << 20;
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

std::string error_json(std::string message) {
  return common::json_to_string(boost::json::object{{"Error", std::move(message)}});
}

HttpResponse error_response(int status, std::string message) {
  return HttpResponse{
      .status = status, .content_type = "application/json", .body = error_json(std::move(message))};
}

// What the sessions share with the server; it outlives every session that can still run.
struct Context {
  HttpServer::Options options;
  HttpHandler handler;
  std::shared_ptr<FaultInjector> faults;
  std::atomic<bool> stopping{false};
};

// One connection. It owns itself through the completion handlers it has pending, and all of its
// handlers run on its own strand, so no member needs a lock.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const Context& context)
      : stream_(std::move(socket)), context_(context) {}

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::read_header, shared_from_this()));
  }

  // Only for HttpServer::stop once no thread runs the io_context, hence no strand.
  void close_now() { close(); }

 private:
  void read_header() {
    if (context_.stopping) return close();
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(context_.options.max_body_bytes);
    stream_.expires_after(kIdleTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return on_read_error(ec);
    if (context_.stopping) return close();
    if (parser_->is_done()) return on_request();
    stream_.expires_after(kReadTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return on_read_error(ec);
    if (context_.stopping) return close();
    on_request();
  }

  void on_read_error(beast::error_code ec) {
    if (context_.stopping || ec == http::error::end_of_stream) return close();
    // The parser checks Content-Length against the limit as soon as the header is complete.
    if (ec == http::error::body_limit) return send_error(413, "request body too large");
    if (ec == http::error::header_limit) return send_error(431, "request header too large");
    if (ec.category() == beast::error_code(http::error::bad_method).category()) {
      return send_error(400, "malformed request: " + ec.message());
    }
    close();  // timeout, reset, aborted: nobody to answer
  }

  void on_request() {
    auto& message = parser_->get();
    HttpRequest request;
    request.method = std::string(message.method_string());
    std::string_view target = message.target();
    size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos)
      request.query = std::string(target.substr(question + 1));
    request.body = std::move(message.body());
    send(call_handler(request), message.version(), message.keep_alive(),
         message.method() == http::verb::head);
  }

  HttpResponse call_handler(const HttpRequest& request) const {
    try {
      if (context_.faults) {
        if (auto fault = context_.faults->before(request)) return std::move(*fault);
      }
      return context_.handler(request);
    } catch (const std::exception& e) {
      return error_response(500, std::string("internal error: ") + e.what());
    } catch (...) {
      return error_response(500, "internal error: unknown exception");
    }
  }

  void send_error(int status, std::string message) {
    send(error_response(status, std::move(message)), 11, /*keep_alive=*/false, /*head=*/false);
  }

  void send(HttpResponse reply, unsigned version, bool keep_alive, bool head) {
    // 1xx would be taken for an interim response and the client would wait for another one.
    if (reply.status < 200 || reply.status > 599) {
      reply = error_response(
          500, "internal error: handler returned HTTP status " + std::to_string(reply.status));
    }
    response_.emplace();
    auto& response = *response_;
    response.result(static_cast<unsigned>(reply.status));
    response.version(version);
    response.set(http::field::server, "tron-devnet");
    response.set(http::field::content_type, reply.content_type);
    response.keep_alive(keep_alive);
    // These statuses cannot carry a body; Beast's prepare_payload throws if one is present.
    if (reply.status == 204 || reply.status == 304) reply.body.clear();
    response.body() = std::move(reply.body);
    response.prepare_payload();
    // HEAD gets the Content-Length a GET would have, and no body.
    if (head) response.body().clear();
    stream_.expires_after(kWriteTimeout);
    http::async_write(
        stream_, response,
        beast::bind_front_handler(&Session::on_write, shared_from_this(), response.need_eof()));
  }

  void on_write(bool need_eof, beast::error_code ec, size_t /*bytes*/) {
    response_.reset();
    if (ec) return close();
    if (need_eof) return linger_close();
    read_header();
  }

  void linger_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    lingered_bytes_ = 0;
    stream_.expires_after(kLingerTimeout);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            beast::bind_front_handler(&Session::on_drain, shared_from_this()));
  }

  void on_drain(beast::error_code ec, size_t bytes) {
    lingered_bytes_ += bytes;
    if (ec || context_.stopping || lingered_bytes_ > kLingerMaxBytes) return close();
    drain();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  const Context& context_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::array<char, 4096> drain_buffer_{};
  size_t lingered_bytes_ = 0;
};

}  // namespace

struct HttpServer::Impl {
  // Declared before the io_context so that it outlives the handlers the io_context destroys.
  Context context;
  std::mutex sessions_mutex;
  std::vector<std::weak_ptr<Session>> sessions;

  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  asio::steady_timer accept_retry{ioc};
  std::vector<std::thread> threads;

  std::mutex lifecycle_mutex;  // start() against stop()
  bool running = false;

  Impl(Options options, HttpHandler handler, std::shared_ptr<FaultInjector> faults)
      : ioc(std::max(1, options.threads)) {
    context.options = std::move(options);
    context.handler = std::move(handler);
    context.faults = std::move(faults);
  }

  void accept() {
    acceptor.async_accept(asio::make_strand(ioc),
                          beast::bind_front_handler(&Impl::on_accept, this));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (context.stopping || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Typically EMFILE: retrying at once would spin a core until a descriptor frees up.
      accept_retry.expires_after(kAcceptRetryDelay);
      accept_retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !context.stopping) accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(std::move(socket), context);
    {
      std::lock_guard lock(sessions_mutex);
      std::erase_if(sessions, [](const std::weak_ptr<Session>& s) { return s.expired(); });
      sessions.push_back(session);
    }
    session->run();
    accept();
  }

  void run_worker() {
    // Handlers catch what the user's handler throws; anything else escaping costs one connection
    // at most, not the server.
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception&) {
      }
    }
  }

  common::Error listen_error(std::string_view step, const beast::error_code& ec) {
    beast::error_code ignored;
    acceptor.close(ignored);
    return common::make_error("listen_failed", std::string(step) + " " + context.options.host +
                                                   ":" + std::to_string(context.options.port) +
                                                   ": " + ec.message());
  }
};

HttpServer::HttpServer(Options options, HttpHandler handler, std::shared_ptr<FaultInjector> faults)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(faults))) {}

HttpServer::~HttpServer() { stop(); }

common::Result<uint16_t> HttpServer::start() {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle_mutex);
  if (s.running) return common::make_error("listen_failed", "server already started");
  const Options& options = s.context.options;

  beast::error_code ec;
  tcp::endpoint endpoint;
  auto address = asio::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options.port);
  } else {
    tcp::resolver resolver(s.ioc);
    auto results = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec) return s.listen_error("resolve", ec);
    if (results.empty()) return s.listen_error("resolve", asio::error::host_not_found);
    endpoint = results.begin()->endpoint();
  }

  s.acceptor.open(endpoint.protocol(), ec);
  if (ec) return s.listen_error("open", ec);
  // So that a restarted devnet can take its port back while old connections sit in TIME_WAIT.
  s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return s.listen_error("setsockopt", ec);
  s.acceptor.bind(endpoint, ec);
  if (ec) return s.listen_error("bind", ec);
  s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return s.listen_error("listen", ec);
  uint16_t port = s.acceptor.local_endpoint(ec).port();
  if (ec) return s.listen_error("getsockname", ec);

  s.context.stopping = false;
  s.ioc.restart();  // a no-op unless the server was stopped before
  s.accept();
  int threads = std::max(1, options.threads);
  s.threads.reserve(threads);
  for (int i = 0; i < threads; ++i) s.threads.emplace_back([&s] { s.run_worker(); });
  s.running = true;
  return port;
}

void HttpServer::stop() {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle_mutex);
  if (!s.running) return;
  s.running = false;
  s.context.stopping = true;
  // Stopping first makes the rest single-threaded: a handler that is running finishes (a blocked
  // one delays stop()), and nothing else starts. Calling stop() from a handler would deadlock.
  s.ioc.stop();
  for (auto& thread : s.threads) thread.join();
  s.threads.clear();

  beast::error_code ignored;
  s.acceptor.close(ignored);
  s.accept_retry.cancel();
  {
    std::lock_guard sessions_lock(s.sessions_mutex);
    for (auto& weak : s.sessions) {
      if (auto session = weak.lock()) session->close_now();
    }
    s.sessions.clear();
  }
  // Runs the completions the closes just aborted, so the sessions are freed now; each one sees
  // `stopping` and ends without starting new work.
  s.ioc.restart();
  s.ioc.poll();
}

}  // namespace relay::devnet
