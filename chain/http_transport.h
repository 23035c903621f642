// HttpTransport: the one seam between tronrelay and a TRON node's HTTP API. CurlTransport speaks to
// TronGrid or any java-tron node; tests substitute a fake and script every answer and failure.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"

namespace relay::chain {

struct HttpReply {
  long status = 0;
  std::string body;
};

// The error code of a transport failure that happened after the request may have left: the node
// may have acted on it (a broadcast may have been accepted), so only idempotent calls and
// broadcasts of the same bytes may be repeated.
inline constexpr const char* kTransportTimeout = "upstream_timeout";

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // POSTs a JSON body. Errors are transport failures — code kTransportTimeout when `timeout`
  // passed, "upstream_failed" for everything else (refused connection, DNS, TLS, a reset); any
  // HTTP status, 4xx/5xx included, is a reply.
  virtual common::Result<HttpReply> post_json(const std::string& url, const std::string& body,
                                              const std::map<std::string, std::string>& headers,
                                              std::chrono::milliseconds timeout) = 0;
};

// libcurl with keep-alive: an easy handle keeps its connections open after a transfer, so idle
// handles are kept per origin (scheme://host:port) and lent out one call at a time; a call from any
// thread takes an idle handle for its origin or makes a new one, and gives it back after. At most
// `max_idle_per_origin` idle handles are kept for each origin; extra ones are closed. Thread-safe.
class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(size_t max_idle_per_origin = 8);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  common::Result<HttpReply> post_json(const std::string& url, const std::string& body,
                                      const std::map<std::string, std::string>& headers,
                                      std::chrono::milliseconds timeout) override;

  // TCP (and TLS) connections opened so far: with keep-alive working this stays near the number
  // of concurrent callers per origin, whatever the number of calls.
  uint64_t connections_opened() const;

 private:
  struct HandleCache;
  std::unique_ptr<HandleCache> cache_;
};

}  // namespace relay::chain
