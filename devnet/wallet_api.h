// WalletApi: the devnet's HTTP surface — java-tron's /wallet/* and /walletsolidity/* endpoints with
// java-tron's JSON shapes, plus the devnet-only /admin/* routes — as a function from request to
// response, so it is testable without sockets and servable by common::HttpServer.
#pragma once

#include <memory>

#include "common/http_server.h"
#include "devnet/faults.h"
#include "devnet/node.h"

namespace relay::devnet {

// The devnet's handlers speak the shared server's request and response types.
using HttpRequest = common::HttpRequest;
using HttpResponse = common::HttpResponse;

class WalletApi {
 public:
  struct Options {
    bool admin_enabled = true;  // only when listening on loopback
  };

  WalletApi(Node& node, std::shared_ptr<FaultInjector> faults, Options options);
  WalletApi(Node& node, std::shared_ptr<FaultInjector> faults)
      : WalletApi(node, std::move(faults), Options{}) {}

  HttpResponse handle(const HttpRequest& request);

 private:
  Node& node_;
  std::shared_ptr<FaultInjector> faults_;
  Options options_;
};

}  // namespace relay::devnet
