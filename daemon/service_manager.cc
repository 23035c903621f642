#include "daemon/service_manager.h"

#include <systemd/sd-daemon.h>

namespace relay::daemon {

void ServiceManager::ready(const std::string& status) {
  sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
}

void ServiceManager::stopping(const std::string& status) {
  sd_notify(0, ("STOPPING=1\nSTATUS=" + status).c_str());
}

void ServiceManager::reloading() { sd_notify(0, "RELOADING=1"); }

void ServiceManager::status(const std::string& status) {
  sd_notify(0, ("STATUS=" + status).c_str());
}

void ServiceManager::watchdog_ping() { sd_notify(0, "WATCHDOG=1"); }

std::optional<std::chrono::microseconds> ServiceManager::watchdog_interval() const {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

}  // namespace relay::daemon
