// DevnetProcess: one tron-devnet child process for integration tests (*_devnet_test,
// *_devnet_pg_test), listening on a port it picks on 127.0.0.1, with the admin routes tests drive
// (mine, faults). Stopped (SIGTERM, then SIGKILL) when destroyed. The binary comes from the test's
// TRON_DEVNET_BINARY definition (CMake: $<TARGET_FILE:tron-devnet>).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "chain/http_transport.h"
#include "common/json.h"

extern char** environ;

namespace relay::testing {

struct DevnetOptions {
  std::string binary;   // the tron-devnet executable
  std::string genesis;  // e.g. PROJECT_SOURCE_DIR "/devnet/demo-genesis.json"
  // 0 = blocks only on demand (mine()); otherwise a block every N ms.
  int block_interval_ms = 0;
  int solidity_depth = 2;
  uint16_t port = 0;  // 0 = the devnet picks one; a fixed port lets a test restart "the same node"
};

class DevnetProcess {
 public:
  explicit DevnetProcess(DevnetOptions options) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<std::string> args = {options.binary,
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(options.port),
                                     "--block-interval-ms",
                                     std::to_string(options.block_interval_ms),
                                     "--solidity-depth",
                                     std::to_string(options.solidity_depth),
                                     "--genesis",
                                     options.genesis};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int rc =
        posix_spawn(&pid_, options.binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      throw std::runtime_error("cannot start " + options.binary);
    }
    out_ = fds[0];
    // The pipe's read end must not leak into processes the test forks and execs.
    fcntl(out_, F_SETFD, FD_CLOEXEC);
    std::string text;
    std::smatch match;
    const std::regex listening("listening on (http://127\\.0\\.0\\.1:([0-9]+))");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::regex_search(text, match, listening)) {
      if (std::chrono::steady_clock::now() > deadline) {
        stop();
        throw std::runtime_error("tron-devnet did not report its port: " + text);
      }
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buffer[256];
      const ssize_t n = read(out_, buffer, sizeof buffer);
      if (n <= 0) {
        stop();
        throw std::runtime_error("tron-devnet exited before listening: " + text);
      }
      text.append(buffer, static_cast<size_t>(n));
    }
    url_ = match[1];
    port_ = static_cast<uint16_t>(std::stoi(match[2]));
  }
  ~DevnetProcess() { stop(); }
  DevnetProcess(const DevnetProcess&) = delete;
  DevnetProcess& operator=(const DevnetProcess&) = delete;

  const std::string& url() const { return url_; }
  uint16_t port() const { return port_; }

  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      for (int i = 0; i < 100 && pid_ > 0; ++i) {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = 0;
        if (pid_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = 0;
      }
    }
    if (out_ >= 0) {
      close(out_);
      out_ = -1;
    }
  }

  // POST /admin/<route>; the devnet's loopback-only routes, outside any client under test.
  boost::json::object admin(const std::string& route, const std::string& body = "{}") {
    auto reply = admin_transport_.post_json(url_ + "/admin/" + route, body, {},
                                            std::chrono::milliseconds(5'000));
    EXPECT_TRUE(reply.ok()) << route;
    if (!reply.ok()) return {};
    EXPECT_EQ(reply->status, 200) << route << ": " << reply->body;
    auto object = common::parse_json_object(reply->body);
    return object.ok() ? *object : boost::json::object{};
  }
  void mine(int blocks = 1) { admin("mine", R"({"blocks":)" + std::to_string(blocks) + "}"); }
  // {"drop_broadcast_rate":1,"endpoints":["/wallet/broadcasthex"]}, {"error_rate":0.3}, …
  void faults(const std::string& config) { admin("faults", config); }

 private:
  pid_t pid_ = 0;
  int out_ = -1;
  std::string url_;
  uint16_t port_ = 0;
  chain::CurlTransport admin_transport_;
};

}  // namespace relay::testing
