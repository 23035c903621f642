// ServiceManager: what tronrelayd tells systemd (Type=notify): READY=1 once it serves, STOPPING=1
// when it drains, STATUS= lines for `systemctl status`, and WATCHDOG=1 pings at half the interval
// systemd asked for. Outside systemd every call is a no-op.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace relay::daemon {

class ServiceManager {
 public:
  void ready(const std::string& status);
  void stopping(const std::string& status);
  void reloading();
  void status(const std::string& status);
  void watchdog_ping();
  // How often to ping, if systemd enabled the watchdog for us.
  std::optional<std::chrono::microseconds> watchdog_interval() const;
};

}  // namespace relay::daemon
