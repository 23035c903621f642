// HttpServer: the embedded HTTP/1.1 server (Boost.Beast) under tronrelayd's API and tron-devnet.
// It knows nothing about routes, JSON or auth: every request goes to one synchronous HttpHandler.
// It owns the transport rules — keep-alive, body/header limits (413/431), timeouts, a connection
// cap (503), request ids, graceful drain — so that every user of it gets them the same way.
//
// Handlers run on the server's own threads and may block (database calls): size `threads` for the
// blocking, not only for the cores. Streaming replies (SSE) are not supported yet; they will come
// as a second handler kind that gets a writer, beside this one, without changing HttpHandler.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace relay::common {

class Logger;

// Header fields in arrival order; names compare case-insensitively (RFC 9110 §5.1).
class HttpHeaders {
 public:
  // The first value of `name`, or nullopt. The view lives as long as this object is unchanged.
  std::optional<std::string_view> find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name).has_value(); }
  // Replaces every field called `name` with one.
  void set(std::string_view name, std::string_view value);
  void add(std::string_view name, std::string_view value);

  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

bool iequals(std::string_view a, std::string_view b);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string, e.g. "/wallet/getaccount"
  std::string query;   // after '?', undecoded; empty if none
  std::string body;
  // New members carry `{}` so that positional initializers of the four above stay warning-free.
  HttpHeaders headers{};
  // "req_" + 16 hex characters, or the client's own X-Request-Id when it is well formed; it is
  // echoed as X-Request-Id on the reply and belongs in every log line about this request.
  std::string request_id{};
  std::string remote_address{};  // the peer's IP address, without the port

  // Shorthand for headers.find(name).value_or("").
  std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra fields (Allow, Retry-After, X-RateLimit-*). The server owns framing and identity:
  // Content-Length, Transfer-Encoding, Connection, Content-Type and X-Request-Id set here are
  // ignored, as is any field whose name or value holds CR, LF or NUL.
  HttpHeaders headers{};
  // The route pattern that answered ("/v1/keys/{id}"), passed to the observer as the metrics
  // label; never the raw path, whose ids would make label values unbounded. Empty = unrouted.
  std::string route{};
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// What the server itself answers (malformed request, limits, overload, a handler that threw), so
// that each user renders these in its own error format. Codes: "invalid_request" (400),
// "payload_too_large" (413), "header_too_large" (431), "unavailable" (503), "internal" (500). The
// message never contains exception text; that goes to the log.
using HttpErrorRenderer =
    std::function<HttpResponse(int status, const Error& error, std::string_view request_id)>;

// One answered request, for metrics and access logs. Views are valid during the call only.
struct HttpExchange {
  std::string_view method;
  std::string_view route;  // HttpResponse::route; empty when the server answered by itself
  int status = 0;
  std::chrono::nanoseconds latency{};  // first request byte read → last response byte written
  std::string_view request_id;
  std::string_view remote_address;
};

// Generates "req_" + 16 random lowercase hex characters.
std::string new_request_id();
// True for 1..64 characters of [A-Za-z0-9._:-]: safe to echo in a header and a log line.
bool is_valid_request_id(std::string_view id);

class HttpServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 0;  // 0 = an ephemeral port; start() returns the one bound
    int threads = 2;
    size_t max_body_bytes = 4 * 1024 * 1024;
    uint32_t max_header_bytes = 16 * 1024;
    // Open connections beyond this are answered 503 and closed; 0 = no cap.
    size_t max_connections = 0;
    // A keep-alive connection may sit unused this long (its next request must start within it).
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
    std::chrono::milliseconds read_timeout = std::chrono::seconds(30);  // rest of a request
    std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
    std::string server_name = "tronrelay";  // the Server header
    // Consulted before `handler` for every request; a response returned here is sent instead.
    std::function<std::optional<HttpResponse>(const HttpRequest&)> before_handler;
    // Renders the server's own error replies; unset = {"error":{"code","message","request_id"}}.
    HttpErrorRenderer error_renderer;
    // Called once per reply written (or failed to write), on a server thread; must not block.
    std::function<void(const HttpExchange&)> observer;
    // Where the server reports handler exceptions and accept failures; may be null. Not owned.
    Logger* logger = nullptr;
  };

  HttpServer(Options options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on background threads; returns the bound port. Error code
  // "listen_failed" when the address cannot be resolved or bound.
  Result<uint16_t> start();
  // Graceful shutdown: stops accepting, lets requests already being read or handled finish (their
  // replies say Connection: close), closes idle keep-alive connections, then stop()s. Returns true
  // when every connection ended before `timeout`; false when stop() had to cut some off.
  bool drain(std::chrono::milliseconds timeout);
  // Stops accepting, closes every connection at once, joins the threads. A handler that is running
  // finishes first. Idempotent; must not be called from a handler (it would wait for itself).
  void stop();

  // Connections currently open and counted against max_connections.
  size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace relay::common
