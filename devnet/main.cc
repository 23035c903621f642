// tron-devnet: a local TronGrid-compatible TRON chain for development, tests and the demo.
#include <google/protobuf/stubs/logging.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "common/http_server.h"
#include "common/json.h"
#include "devnet/faults.h"
#include "devnet/node.h"
#include "devnet/wallet_api.h"

namespace {

constexpr const char* kUsage =
    "usage: tron-devnet --listen HOST:PORT [--block-interval-ms N] [--genesis FILE] [--state "
    "FILE]\n"
    "                   [--solidity-depth N]\n"
    "  --block-interval-ms  3000 by default; 0 = blocks only on demand (POST /admin/mine)\n"
    "  --genesis            accounts, stakes, USDT balances and chain parameters (JSON)\n"
    "  --state              load the chain from FILE if it exists, save it there on exit\n";

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int fail(const std::string& message) {
  std::cerr << "tron-devnet: " << message << "\n";
  return 2;
}

bool read_file(const std::string& path, std::string* out) {
  std::ifstream file(path);
  if (!file) return false;
  std::stringstream text;
  text << file.rdbuf();
  *out = text.str();
  return true;
}

// The server's own error replies (413, 431, 500, ...) in java-tron's {"Error": "..."} shape, which
// TronGrid clients already parse.
relay::common::HttpResponse java_tron_error(int status, const relay::common::Error& error,
                                            std::string_view /*request_id*/) {
  return relay::common::HttpResponse{
      .status = status,
      .content_type = "application/json",
      .body = relay::common::json_to_string(boost::json::object{{"Error", error.message}})};
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  google::protobuf::SetLogHandler(nullptr);
  std::string listen, genesis_path, state_path;
  int64_t block_interval_ms = 3000;
  int64_t solidity_depth = relay::devnet::Node::kDefaultSolidityDepth;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "tron-devnet: " << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (arg == "--listen") {
        listen = value();
      } else if (arg == "--block-interval-ms") {
        block_interval_ms = std::stoll(value());
      } else if (arg == "--genesis") {
        genesis_path = value();
      } else if (arg == "--state") {
        state_path = value();
      } else if (arg == "--solidity-depth") {
        solidity_depth = std::stoll(value());
      } else if (arg == "-h" || arg == "--help") {
        std::cout << kUsage;
        return 0;
      } else {
        return fail("unknown argument " + arg + "\n" + kUsage);
      }
    } catch (const std::exception&) {
      return fail("bad number for " + arg);
    }
  }
  if (listen.empty()) return fail(std::string("--listen is required\n") + kUsage);
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return fail("--listen must be HOST:PORT");
  relay::common::HttpServer::Options options;
  options.server_name = "tron-devnet";
  options.error_renderer = java_tron_error;
  options.host = listen.substr(0, colon);
  try {
    int port = std::stoi(listen.substr(colon + 1));
    if (port < 0 || port > 65535) return fail("port out of range");
    options.port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    return fail("--listen must be HOST:PORT");
  }
  if (block_interval_ms < 0 || solidity_depth < 0)
    return fail("intervals and depths must not be negative");

  relay::common::SystemClock clock;
  std::unique_ptr<relay::devnet::Node> node;
  std::string text;
  if (!state_path.empty() && read_file(state_path, &text)) {
    // A hand-edited or truncated state file can throw from deep inside Boost.JSON; it is still
    // just a bad file.
    try {
      auto loaded = relay::devnet::Node::load_state(text, clock, solidity_depth);
      if (!loaded.ok()) return fail("state " + state_path + ": " + loaded.error().message);
      node = std::move(*loaded);
    } catch (const std::exception& e) {
      return fail("state " + state_path + " is malformed: " + e.what());
    }
  } else {
    relay::devnet::Genesis genesis;
    if (!genesis_path.empty()) {
      if (!read_file(genesis_path, &text)) return fail("cannot read genesis " + genesis_path);
      auto parsed = relay::devnet::parse_genesis(text);
      if (!parsed.ok()) return fail("genesis " + genesis_path + ": " + parsed.error().message);
      genesis = *parsed;
    }
    node = std::make_unique<relay::devnet::Node>(genesis, clock, solidity_depth);
  }

  auto faults = std::make_shared<relay::devnet::FaultInjector>();
  relay::devnet::WalletApi api(*node, faults, {.admin_enabled = is_loopback(options.host)});
  options.before_handler = [faults](const relay::common::HttpRequest& request) {
    return faults->before(request);
  };
  relay::common::HttpServer server(
      options, [&api](const relay::common::HttpRequest& request) { return api.handle(request); });
  auto port = server.start();
  if (!port.ok()) return fail(port.error().message);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::cout << "tron-devnet listening on http://" << options.host << ":" << *port << std::endl;

  auto next_block = std::chrono::steady_clock::now();
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(
        block_interval_ms > 0 ? std::min<int64_t>(block_interval_ms, 50) : 50));
    if (block_interval_ms > 0 && std::chrono::steady_clock::now() >= next_block) {
      node->produce_block();
      next_block += std::chrono::milliseconds(block_interval_ms);
    }
  }
  // Requests in flight get their replies; idle keep-alive connections are closed.
  server.drain(std::chrono::seconds(5));
  if (!state_path.empty()) {
    std::string tmp = state_path + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    out << node->save_state();
    out.close();
    if (!out || std::rename(tmp.c_str(), state_path.c_str()) != 0) {
      return fail("cannot write state " + state_path);
    }
  }
  return 0;
}
