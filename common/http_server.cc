#include "common/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

#include "common/json.h"
#include "common/log.h"

namespace relay::common {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

// After an early error reply we read and discard what the client still sends for a while: closing
// with unread input makes the kernel send RST, which can destroy the reply before it is read.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr size_t kLingerMaxBytes = 1 << 20;
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
// How much an idle connection reads at once when its next request starts.
constexpr size_t kFirstReadBytes = 4096;

char lower_ascii(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool has_control_bytes(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// Fields the server sets itself; a handler's value would break framing or the request id promise.
bool is_reserved_header(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kReserved = {
      "content-length", "transfer-encoding", "connection",
      "content-type",   "x-request-id",      "server"};
  return std::any_of(kReserved.begin(), kReserved.end(),
                     [name](std::string_view reserved) { return iequals(name, reserved); });
}

HttpResponse default_error_response(int status, const Error& error, std::string_view request_id) {
  boost::json::object body{
      {"error", boost::json::object{
                    {"code", error.code}, {"message", error.message}, {"request_id", request_id}}}};
  return HttpResponse{
      .status = status, .content_type = "application/json", .body = json_to_string(body)};
}

// What the sessions share with the server; it outlives every session that can still run.
struct Context {
  HttpServer::Options options;
  HttpHandler handler;
  std::atomic<bool> stopping{false};
  std::atomic<bool> draining{false};
  std::atomic<size_t> open_connections{0};  // sessions that serve requests (not 503 rejects)

  std::mutex live_mutex;  // guards live_sessions; live_changed fires when it drops
  std::condition_variable live_changed;
  size_t live_sessions = 0;

  HttpResponse render_error(int status, const Error& error, std::string_view request_id) const {
    if (options.error_renderer) {
      try {
        return options.error_renderer(status, error, request_id);
      } catch (const std::exception&) {
        // A renderer that throws must not take the connection's reply with it.
      }
    }
    return default_error_response(status, error, request_id);
  }
};

// One connection. It owns itself through the completion handlers it has pending, and all of its
// handlers run on its own strand, so no member needs a lock.
class Session : public std::enable_shared_from_this<Session> {
 public:
  // `counted`: whether this connection holds one of the max_connections slots.
  Session(tcp::socket&& socket, Context& context, bool counted)
      : stream_(std::move(socket)), context_(context), counted_(counted) {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = endpoint.address().to_string();
    std::lock_guard lock(context_.live_mutex);
    ++context_.live_sessions;
  }

  ~Session() {
    if (counted_) --context_.open_connections;
    {
      std::lock_guard lock(context_.live_mutex);
      --context_.live_sessions;
    }
    context_.live_changed.notify_all();
  }

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::wait_for_request, shared_from_this()));
  }

  // Answers 503 at once, without reading the request, and closes.
  void reject_overloaded() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->request_started_ = std::chrono::steady_clock::now();
      self->send_error(503, "unavailable", "too many connections");
    });
  }

  // For drain(): ends the connection if it is between requests; one mid-request finishes first.
  void close_if_idle() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->idle_) return;
      // Bytes waiting in the kernel are a request the client has sent: let the read take them.
      beast::error_code ec;
      if (self->stream_.socket().available(ec) > 0 && !ec) return;
      // Cancelling rather than closing: a first read that has already completed still delivers
      // its bytes, and that request is served (as the connection's last) instead of being lost.
      self->stream_.cancel();
    });
  }

  // Only for HttpServer::stop once no thread runs the io_context, hence no strand.
  void close_now() { close(); }

 private:
  // Between requests the connection only waits for the first byte of the next one: that is what
  // makes it "idle" for drain(), and what idle_timeout bounds.
  void wait_for_request() {
    if (context_.stopping) return close();
    if (context_.draining && buffer_.size() == 0) {
      // Only a request the client has already sent is still served; otherwise this is idle.
      beast::error_code ec;
      if (stream_.socket().available(ec) == 0 || ec) return close();
    }
    if (buffer_.size() > 0) {  // a pipelined request is already here
      request_started_ = std::chrono::steady_clock::now();
      return read_header();
    }
    idle_ = true;
    stream_.expires_after(context_.options.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(kFirstReadBytes),
        beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
  }

  void on_first_bytes(beast::error_code /*ec*/, size_t bytes) {
    idle_ = false;
    buffer_.commit(bytes);
    // EOF, idle timeout, reset, or cancelled by drain(): no request has begun, nobody to answer.
    if (bytes == 0 || context_.stopping) return close();
    request_started_ = std::chrono::steady_clock::now();
    read_header();
  }

  void read_header() {
    method_.clear();
    parser_.emplace();
    parser_->header_limit(context_.options.max_header_bytes);
    parser_->body_limit(context_.options.max_body_bytes);
    stream_.expires_after(context_.options.read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return on_read_error(ec);
    if (context_.stopping) return close();
    if (parser_->is_done()) return on_request();
    stream_.expires_after(context_.options.read_timeout);
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
    if (ec == http::error::body_limit) {
      return send_error(413, "payload_too_large", "request body too large");
    }
    if (ec == http::error::header_limit) {
      return send_error(431, "header_too_large", "request header too large");
    }
    if (ec.category() == beast::error_code(http::error::bad_method).category()) {
      return send_error(400, "invalid_request", "malformed request: " + ec.message());
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
    if (question != std::string_view::npos) {
      request.query = std::string(target.substr(question + 1));
    }
    request.body = std::move(message.body());
    for (const auto& field : message) {
      request.headers.add(field.name_string(), field.value());
    }
    request.request_id = request_id_from(request.headers);
    request.remote_address = remote_address_;
    method_ = request.method;
    HttpResponse reply = call_handler(request);
    // Decided after the handler: a drain that began while it ran makes this the last request.
    bool keep_alive = message.keep_alive() && !context_.draining && !context_.stopping;
    send(std::move(reply), request.request_id, message.version(), keep_alive,
         message.method() == http::verb::head);
  }

  static std::string request_id_from(const HttpHeaders& headers) {
    auto incoming = headers.find("X-Request-Id");
    if (incoming && is_valid_request_id(*incoming)) return std::string(*incoming);
    return new_request_id();
  }

  HttpResponse call_handler(const HttpRequest& request) const {
    std::string what;
    try {
      if (context_.options.before_handler) {
        if (auto early = context_.options.before_handler(request)) return std::move(*early);
      }
      return context_.handler(request);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "unknown exception";
    }
    // The exception text may name internals: it goes to the log, never into the reply.
    if (context_.options.logger != nullptr) {
      context_.options.logger->error(
          "http handler threw",
          {{"request_id", request.request_id}, {"path", request.path}, {"error", what}});
    }
    return context_.render_error(500, make_error("internal", "internal error"), request.request_id);
  }

  void send_error(int status, std::string code, std::string message) {
    std::string request_id = new_request_id();
    // Whatever of the header was parsed before the error: keep the client's id if it came.
    if (parser_) {
      for (const auto& field : parser_->get()) {
        if (iequals(field.name_string(), "X-Request-Id") && is_valid_request_id(field.value())) {
          request_id = std::string(field.value());
        }
      }
      method_ = std::string(parser_->get().method_string());
    }
    HttpResponse reply =
        context_.render_error(status, make_error(std::move(code), std::move(message)), request_id);
    reply.route.clear();  // the server answered: no route to report
    send(std::move(reply), request_id, 11, /*keep_alive=*/false, /*head=*/false);
  }

  void send(HttpResponse reply, const std::string& request_id, unsigned version, bool keep_alive,
            bool head) {
    // 1xx would be taken for an interim response and the client would wait for another one.
    if (reply.status < 200 || reply.status > 599) {
      if (context_.options.logger != nullptr) {
        context_.options.logger->error("http handler returned an invalid status",
                                       {{"request_id", request_id}, {"status", reply.status}});
      }
      reply = context_.render_error(500, make_error("internal", "internal error"), request_id);
    }
    response_.emplace();
    auto& response = *response_;
    response.result(static_cast<unsigned>(reply.status));
    response.version(version);
    response.set(http::field::server, context_.options.server_name);
    response.set(http::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.headers.fields()) {
      if (name.empty() || is_reserved_header(name) || has_control_bytes(name) ||
          has_control_bytes(value)) {
        continue;
      }
      response.insert(name, value);
    }
    response.set("X-Request-Id", request_id);
    response.keep_alive(keep_alive);
    // These statuses cannot carry a body; Beast's prepare_payload throws if one is present.
    if (reply.status == 204 || reply.status == 304) reply.body.clear();
    response.body() = std::move(reply.body);
    response.prepare_payload();
    // HEAD gets the Content-Length a GET would have, and no body.
    if (head) response.body().clear();

    route_ = std::move(reply.route);
    status_ = reply.status;
    request_id_ = request_id;
    stream_.expires_after(context_.options.write_timeout);
    http::async_write(
        stream_, response,
        beast::bind_front_handler(&Session::on_write, shared_from_this(), response.need_eof()));
  }

  void on_write(bool need_eof, beast::error_code ec, size_t /*bytes*/) {
    response_.reset();
    report();
    if (ec) return close();
    if (need_eof) return linger_close();
    wait_for_request();
  }

  void report() {
    if (!context_.options.observer) return;
    HttpExchange exchange{.method = method_,
                          .route = route_,
                          .status = status_,
                          .latency = std::chrono::steady_clock::now() - request_started_,
                          .request_id = request_id_,
                          .remote_address = remote_address_};
    try {
      context_.options.observer(exchange);
    } catch (const std::exception&) {
      // Metrics are not worth a connection.
    }
  }

  void linger_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    lingered_bytes_ = 0;
    stream_.expires_after(kLingerTimeout);
    discard_input();
  }

  void discard_input() {
    stream_.async_read_some(asio::buffer(discard_buffer_),
                            beast::bind_front_handler(&Session::on_discarded, shared_from_this()));
  }

  void on_discarded(beast::error_code ec, size_t bytes) {
    lingered_bytes_ += bytes;
    if (ec || context_.stopping || lingered_bytes_ > kLingerMaxBytes) return close();
    discard_input();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Context& context_;
  const bool counted_;
  std::string remote_address_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::array<char, 4096> discard_buffer_{};
  size_t lingered_bytes_ = 0;
  bool idle_ = false;  // waiting for the first byte of a request
  // The reply being written, kept for the observer.
  SteadyTime request_started_{};
  std::string method_;
  std::string route_;
  int status_ = 0;
  std::string request_id_;
};

}  // namespace

std::optional<std::string_view> HttpHeaders::find(std::string_view name) const {
  for (const auto& [field, value] : fields_) {
    if (iequals(field, name)) return std::string_view(value);
  }
  return std::nullopt;
}

void HttpHeaders::set(std::string_view name, std::string_view value) {
  std::erase_if(fields_, [name](const auto& field) { return iequals(field.first, name); });
  add(name, value);
}

void HttpHeaders::add(std::string_view name, std::string_view value) {
  fields_.emplace_back(std::string(name), std::string(value));
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower_ascii(x) == lower_ascii(y);
         });
}

std::string_view HttpRequest::header(std::string_view name) const {
  return headers.find(name).value_or(std::string_view());
}

std::string new_request_id() {
  // Ids need to be unique, not secret: a per-thread generator seeded once from the OS is enough.
  thread_local std::mt19937_64 rng{(static_cast<uint64_t>(std::random_device{}()) << 32) ^
                                   std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t bits = rng();
  std::string id = "req_";
  for (int shift = 60; shift >= 0; shift -= 4) id.push_back(kHex[(bits >> shift) & 0xf]);
  return id;
}

bool is_valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == ':' ||
           c == '-';
  });
}

struct HttpServer::Impl {
  // Declared before the io_context so that it outlives the handlers the io_context destroys.
  Context context;
  std::mutex sessions_mutex;
  std::vector<std::weak_ptr<Session>> sessions;

  asio::io_context ioc;
  // The acceptor and its retry timer live on one strand so that drain() can close them from
  // outside while an accept completes on a worker.
  asio::strand<asio::io_context::executor_type> accept_strand{ioc.get_executor()};
  tcp::acceptor acceptor{accept_strand};
  asio::steady_timer accept_retry{accept_strand};
  std::vector<std::thread> threads;

  std::mutex lifecycle_mutex;  // start() against stop() and drain()
  bool running = false;

  Impl(Options options, HttpHandler handler) : ioc(std::max(1, options.threads)) {
    context.options = std::move(options);
    context.handler = std::move(handler);
  }

  bool accepting() const { return !context.stopping && !context.draining; }

  void accept() {
    acceptor.async_accept(asio::make_strand(ioc),
                          beast::bind_front_handler(&Impl::on_accept, this));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (!accepting() || ec == asio::error::operation_aborted) return;
    if (ec) {
      if (context.options.logger != nullptr) {
        context.options.logger->warn("http accept failed", {{"error", ec.message()}});
      }
      // Typically EMFILE: retrying at once would spin a core until a descriptor frees up.
      accept_retry.expires_after(kAcceptRetryDelay);
      accept_retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && accepting()) accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    size_t cap = context.options.max_connections;
    bool over_cap = cap > 0 && context.open_connections.load() >= cap;
    // Constructed before it is counted: whoever sees the count (drain, tests) sees it live too.
    auto session = std::make_shared<Session>(std::move(socket), context, !over_cap);
    if (!over_cap) ++context.open_connections;
    {
      std::lock_guard lock(sessions_mutex);
      std::erase_if(sessions, [](const std::weak_ptr<Session>& s) { return s.expired(); });
      sessions.push_back(session);
    }
    if (over_cap) {
      session->reject_overloaded();
    } else {
      session->run();
    }
    accept();
  }

  void run_worker() {
    // Handlers catch what the user's handler throws; anything else escaping costs one connection
    // at most, not the server.
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        if (context.options.logger != nullptr) {
          context.options.logger->error("http worker caught", {{"error", e.what()}});
        }
      }
    }
  }

  Error listen_error(std::string_view step, const beast::error_code& ec) {
    beast::error_code ignored;
    acceptor.close(ignored);
    return make_error("listen_failed", std::string(step) + " " + context.options.host + ":" +
                                           std::to_string(context.options.port) + ": " +
                                           ec.message());
  }

  // Caller holds lifecycle_mutex.
  void stop_locked() {
    if (!running) return;
    running = false;
    context.stopping = true;
    // Stopping first makes the rest single-threaded: a handler that is running finishes (a
    // blocked one delays stop()), and nothing else starts.
    ioc.stop();
    for (auto& thread : threads) thread.join();
    threads.clear();

    beast::error_code ignored;
    acceptor.close(ignored);
    accept_retry.cancel();
    {
      std::lock_guard sessions_lock(sessions_mutex);
      for (auto& weak : sessions) {
        if (auto session = weak.lock()) session->close_now();
      }
      sessions.clear();
    }
    // Runs the completions the closes just aborted, so the sessions are freed now; each one sees
    // `stopping` and ends without starting new work.
    ioc.restart();
    ioc.poll();
  }
};

HttpServer::HttpServer(Options options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { stop(); }

Result<uint16_t> HttpServer::start() {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle_mutex);
  if (s.running) return make_error("listen_failed", "server already started");
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
  // So that a restarted process can take its port back while old connections sit in TIME_WAIT.
  s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return s.listen_error("setsockopt", ec);
  s.acceptor.bind(endpoint, ec);
  if (ec) return s.listen_error("bind", ec);
  s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return s.listen_error("listen", ec);
  uint16_t port = s.acceptor.local_endpoint(ec).port();
  if (ec) return s.listen_error("getsockname", ec);

  s.context.stopping = false;
  s.context.draining = false;
  s.ioc.restart();  // a no-op unless the server was stopped before
  asio::dispatch(s.accept_strand, [&s] { s.accept(); });
  int threads = std::max(1, options.threads);
  s.threads.reserve(threads);
  for (int i = 0; i < threads; ++i) s.threads.emplace_back([&s] { s.run_worker(); });
  s.running = true;
  return port;
}

bool HttpServer::drain(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle_mutex);
  if (!s.running) return true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  s.context.draining = true;
  // Closing the listening socket first: new clients get "connection refused" and go elsewhere
  // (another instance behind the balancer) instead of queueing on a server that is leaving.
  asio::post(s.accept_strand, [&s] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    s.accept_retry.cancel();
  });
  {
    std::lock_guard sessions_lock(s.sessions_mutex);
    for (auto& weak : s.sessions) {
      if (auto session = weak.lock()) session->close_if_idle();
    }
  }
  bool drained;
  {
    std::unique_lock live_lock(s.context.live_mutex);
    drained = s.context.live_changed.wait_until(live_lock, deadline,
                                                [&s] { return s.context.live_sessions == 0; });
  }
  s.stop_locked();
  return drained;
}

void HttpServer::stop() {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle_mutex);
  s.stop_locked();
}

size_t HttpServer::open_connections() const { return impl_->context.open_connections.load(); }

}  // namespace relay::common
