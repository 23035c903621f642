// The tronrelayctl subcommands that work on the database: migrate, tenant, keys, status. Split from
// ctl_commands so the offline commands (tx inspect, address) need no PostgreSQL client at all.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace relay::daemon {

// True when `args[0]` names a database command; `config_path` may be empty (environment only).
bool is_store_command(const std::vector<std::string>& args);
int run_store_command(const std::vector<std::string>& args, const std::string& config_path,
                      std::ostream& out, std::ostream& err);

}  // namespace relay::daemon
