// HttpServer: the devnet's small embedded HTTP/1.1 server (Boost.Beast). It knows nothing about
// TRON: every request goes to one HttpHandler, after the FaultInjector has had its say.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace relay::devnet {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string, e.g. "/wallet/getaccount"
  std::string query;   // after '?', undecoded; empty if none
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class FaultInjector;

class HttpServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 0;  // 0 = an ephemeral port; start() returns the one bound
    int threads = 2;
    size_t max_body_bytes = 4 * 1024 * 1024;
  };

  // `faults` may be null; when set, it is consulted before every request reaches `handler`.
  HttpServer(Options options, HttpHandler handler, std::shared_ptr<FaultInjector> faults = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on background threads; returns the bound port.
  common::Result<uint16_t> start();
  // Stops accepting, closes connections, joins the threads. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace relay::devnet
