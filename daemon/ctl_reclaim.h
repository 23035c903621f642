// tronrelayctl reclaim --due [--dry-run] [--limit N]: the cron path of DESIGN §3. It builds the
// daemon's parts from the same config and keys, re-admits the pools, and claims and runs due
// reclaim jobs once — with FOR UPDATE SKIP LOCKED, so it is safe beside running daemons: what they
// hold is skipped, and a job runs in exactly one place.
//
// tronrelayctl reconcile [--dry-run] [--pool ID] [--wait-ms N] [--include-permission-pools]:
// every pool's on-chain energy delegations against the leases that explain them; orphans are
// taken back (energy/reconcile.h), from own pools, and from permission pools only when asked. One
// run at a time (an advisory lock). One JSON line on stdout; exit 0 when nothing it may take is
// left orphaned (with --dry-run: none was found) and every pool was read, 1 otherwise.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace relay::daemon {

bool is_reclaim_command(const std::vector<std::string>& args);
int run_reclaim_command(const std::vector<std::string>& args, const std::string& config_path,
                        std::ostream& out, std::ostream& err);

bool is_reconcile_command(const std::vector<std::string>& args);
int run_reconcile_command(const std::vector<std::string>& args, const std::string& config_path,
                          std::ostream& out, std::ostream& err);

}  // namespace relay::daemon
