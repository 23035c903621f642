// HttpTransport: the one seam between tronrelay and a TRON node's HTTP API. CurlTransport speaks to
// TronGrid or any java-tron node; tests substitute a fake and script every answer and failure.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"

namespace relay::chain {

struct HttpReply {
  long status = 0;
  std::string body;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // POSTs a JSON body. Errors (code "upstream_failed") are transport failures: refused connection,
  // timeout, TLS; any HTTP status, 4xx/5xx included, is a reply.
  virtual common::Result<HttpReply> post_json(const std::string& url, const std::string& body,
                                              const std::map<std::string, std::string>& headers,
                                              std::chrono::milliseconds timeout) = 0;
};

// libcurl, one easy handle per call (keep-alive across calls comes with the endpoint pool later).
class CurlTransport final : public HttpTransport {
 public:
  CurlTransport();
  ~CurlTransport() override;
  common::Result<HttpReply> post_json(const std::string& url, const std::string& body,
                                      const std::map<std::string, std::string>& headers,
                                      std::chrono::milliseconds timeout) override;
};

}  // namespace relay::chain
