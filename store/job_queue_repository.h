// PostgreSQL implementation of energy's JobQueue (table jobs, migration 0004). Claims are one
// statement: the due rows are picked in due order with FOR NO KEY UPDATE SKIP LOCKED and updated in
// the same statement, so concurrent claimers (daemons, `tronrelayctl reclaim --due`) never wait for
// each other and never get the same job. Pending jobs live only here: a daemon holds none of them
// in memory, however many leases are open.
#pragma once

#include "energy/jobs.h"
#include "store/database.h"

namespace relay::store {

// Errors besides the port's: "invalid_request" for a limit below 1 in claim_due and list_dead,
// and for a negative claim_for. count_by_state() scans the whole table (pending jobs and the done
// ones not purged yet): it is for metrics, read through a cache, not for a hot path.
class PgJobQueue final : public energy::JobQueue {
 public:
  explicit PgJobQueue(Database& db) : db_(db) {}

  common::Result<energy::Job> enqueue(const std::string& kind, const std::string& ref,
                                      common::TimePoint due_at, int max_attempts) override;
  common::Result<std::vector<energy::Job>> claim_due(
      common::TimePoint now, const std::string& worker_id, int limit,
      std::chrono::milliseconds claim_for, const std::vector<std::string>& kinds) override;
  common::Status complete(int64_t job_id, const std::string& worker_id) override;
  common::Result<std::vector<int64_t>> complete_all(const std::vector<int64_t>& job_ids,
                                                    const std::string& worker_id) override;
  common::Result<energy::Job> retry(int64_t job_id, const std::string& worker_id,
                                    const std::string& error, common::TimePoint next_due) override;
  common::Result<energy::Job> reschedule(const std::string& kind, const std::string& ref,
                                         common::TimePoint due_at) override;
  common::Result<bool> cancel(const std::string& kind, const std::string& ref) override;
  common::Result<std::optional<common::TimePoint>> next_due_at(
      const std::vector<std::string>& kinds) override;
  common::Result<std::vector<energy::Job>> list_dead(int limit) override;
  common::Result<energy::JobCounts> count_by_state() override;
  common::Result<int64_t> purge_done(common::TimePoint before, int limit) override;

 private:
  Database& db_;
};

}  // namespace relay::store
