// The composition root of tronrelayd: the one place where concrete types meet. DaemonContext owns
// every subsystem, built in start order and torn down in reverse; run_daemon drives the stages.
#pragma once

#include <csignal>
#include <string>

namespace relay::daemon {

// Exit codes: 0 clean stop, 1 a start check failed (database, schema, chain), 2 bad config.
int run_daemon(const std::string& config_path, const sigset_t& signals);

}  // namespace relay::daemon
