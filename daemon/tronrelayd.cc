// tronrelayd: the tronrelay daemon. Staged like bitcoind's AppInit: parse the config, run the
// sanity checks (crypto self-test, database, schema, chain endpoint), build the subsystems, start
// serving, tell systemd READY=1; on SIGTERM drain and stop in reverse order; on SIGHUP reload what
// can be.
#include <google/protobuf/stubs/logging.h>

#include <csignal>
#include <iostream>

#include "daemon/daemon.h"

int main(int argc, char** argv) {
  google::protobuf::SetLogHandler(nullptr);
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      std::cout << "usage: tronrelayd --config FILE\n"
                   "  Every setting can be overridden by TRONRELAY_<SECTION>_<KEY>; see\n"
                   "  systemd/tronrelayd.toml.example.\n";
      return 0;
    } else {
      std::cerr << "tronrelayd: unknown argument " << arg << " (usage: tronrelayd --config FILE)\n";
      return 2;
    }
  }
  if (config_path.empty()) {
    if (const char* env = std::getenv("TRONRELAY_CONFIG")) config_path = env;
  }
  // Signals are taken synchronously by the main thread; block them before any thread exists so
  // that none of the server's threads receives one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return relay::daemon::run_daemon(config_path, signals);
}
