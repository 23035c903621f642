#include "store/job_queue_repository.h"

#include <algorithm>
#include <pqxx/result>

#include "store/pg_time.h"

namespace relay::store {

namespace {

using energy::Job;
using energy::JobState;

std::string job_columns(const std::string& prefix) {
  const auto c = [&](const char* name) { return prefix + name; };
  return c("id") + ", " + c("kind") + ", " + c("ref") + ", " + micros_of(c("due_at")) + ", " +
         c("state") + ", " + c("claimed_by") + ", " + micros_of(c("claimed_until")) + ", " +
         c("attempts") + ", " + c("max_attempts") + ", " + c("last_error") + ", " +
         micros_of(c("created_at")) + ", " + micros_of(c("updated_at")) + ", " +
         micros_of(c("done_at"));
}

const std::string kJobColumns = job_columns("");

// Live jobs: the ones the (kind, ref) uniqueness is about.
constexpr const char* kLive = "state NOT IN ('done', 'dead')";

common::Error internal(const std::string& message) {
  return common::make_error("internal", message);
}

common::Error no_job(int64_t job_id) {
  return common::make_error("not_found", "no job " + std::to_string(job_id));
}

common::Error no_live_job(const std::string& kind, const std::string& ref) {
  return common::make_error("not_found", "no pending " + kind + " job for " + ref);
}

common::Result<Job> job_from_row(const pqxx::row& row) {
  Job job;
  job.id = row[0].as<int64_t>();
  job.kind = row[1].as<std::string>();
  job.ref = row[2].as<std::string>();
  job.due_at = from_micros(row[3].as<int64_t>());
  auto state = energy::job_state_from_name(row[4].as<std::string>());
  if (!state) return internal("unknown job state '" + row[4].as<std::string>() + "'");
  job.state = *state;
  if (!row[5].is_null()) job.claimed_by = row[5].as<std::string>();
  if (!row[6].is_null()) job.claimed_until = from_micros(row[6].as<int64_t>());
  job.attempts = row[7].as<int>();
  job.max_attempts = row[8].as<int>();
  job.last_error = row[9].as<std::string>();
  job.created_at = from_micros(row[10].as<int64_t>());
  job.updated_at = from_micros(row[11].as<int64_t>());
  if (!row[12].is_null()) job.done_at = from_micros(row[12].as<int64_t>());
  return job;
}

common::Result<std::vector<Job>> jobs_from_rows(const pqxx::result& rows) {
  std::vector<Job> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    RELAY_ASSIGN_OR_RETURN(auto job, job_from_row(row));
    out.push_back(std::move(job));
  }
  return out;
}

// A text[] literal: every element double-quoted, with " and \ escaped, so any kind name is safe.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string bigint_array(const std::vector<int64_t>& ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

// SQL true for a row whose kind is in parameter $n (a text[]), or for every row when it is empty.
std::string kind_in(int n) {
  const std::string p = "$" + std::to_string(n) + "::text[]";
  return "(cardinality(" + p + ") = 0 OR kind = ANY(" + p + "))";
}

// Why complete/retry found no claimed row of `worker_id` to update: the job as it is now, or
// not_found.
common::Result<Job> current(pqxx::work& tx, int64_t job_id) {
  auto rows = tx.exec_params("SELECT " + kJobColumns + " FROM jobs WHERE id = $1", job_id);
  if (rows.empty()) return no_job(job_id);
  return job_from_row(rows[0]);
}

common::Error not_claimed_by(const Job& job, const std::string& worker_id) {
  std::string now = std::string(energy::job_state_name(job.state));
  if (job.claimed_by) now += " (last claimed by " + *job.claimed_by + ")";
  return common::make_error("conflict", "job " + std::to_string(job.id) + " is not claimed by " +
                                            worker_id + ": it is " + now);
}

// Locks the live job for (kind, ref) until the transaction ends. A claim in progress holds the
// row: this waits for it and then sees the job claimed.
common::Result<std::optional<Job>> lock_live(pqxx::work& tx, const std::string& kind,
                                             const std::string& ref) {
  auto rows =
      tx.exec_params("SELECT " + kJobColumns + " FROM jobs WHERE kind = $1 AND ref = $2 AND " +
                         kLive + " FOR NO KEY UPDATE",
                     kind, ref);
  if (rows.empty()) return std::optional<Job>();
  RELAY_ASSIGN_OR_RETURN(auto job, job_from_row(rows[0]));
  return std::optional(std::move(job));
}

common::Error running(const Job& job) {
  return common::make_error("conflict", "job " + std::to_string(job.id) + " (" + job.kind + " " +
                                            job.ref + ") is running on " +
                                            job.claimed_by.value_or("?"));
}

}  // namespace

common::Result<Job> PgJobQueue::enqueue(const std::string& kind, const std::string& ref,
                                        common::TimePoint due_at, int max_attempts) {
  if (kind.empty() || ref.empty()) {
    return common::make_error("invalid_request", "a job needs a kind and a ref");
  }
  if (max_attempts < 1) {
    return common::make_error(
        "invalid_request", "max_attempts must be at least 1, got " + std::to_string(max_attempts));
  }
  return db_.transaction([&](pqxx::work& tx) -> common::Result<Job> {
    // The live job may finish between a conflicting insert and the read that looks for it; the
    // next insert then succeeds. Three rounds cover any such interleaving in practice.
    for (int round = 0; round < 3; ++round) {
      auto inserted =
          tx.exec_params("INSERT INTO jobs (kind, ref, due_at, max_attempts) VALUES ($1, $2, " +
                             timestamp_param(3) + ", $4) ON CONFLICT (kind, ref) WHERE " + kLive +
                             " DO NOTHING RETURNING " + kJobColumns,
                         kind, ref, to_micros(due_at), max_attempts);
      if (!inserted.empty()) return job_from_row(inserted[0]);
      auto existing = tx.exec_params(
          "SELECT " + kJobColumns + " FROM jobs WHERE kind = $1 AND ref = $2 AND " + kLive, kind,
          ref);
      if (!existing.empty()) return job_from_row(existing[0]);
    }
    return common::make_error(
        "conflict", "the " + kind + " job for " + ref + " kept changing while it was enqueued");
  });
}

common::Result<std::vector<Job>> PgJobQueue::claim_due(common::TimePoint now,
                                                       const std::string& worker_id, int limit,
                                                       std::chrono::milliseconds claim_for,
                                                       const std::vector<std::string>& kinds) {
  if (limit < 1) {
    return common::make_error("invalid_request",
                              "claim limit must be at least 1, got " + std::to_string(limit));
  }
  if (claim_for.count() < 0) {
    return common::make_error("invalid_request", "claim_for must not be negative");
  }
  if (worker_id.empty()) return common::make_error("invalid_request", "worker_id is empty");
  const int64_t until = to_micros(now + claim_for);
  auto claimed = db_.transaction([&](pqxx::work& tx) -> common::Result<std::vector<Job>> {
    // An expired claim that used the last attempt turns dead instead of being handed out: the
    // CASEs below. Rows another claimer has locked are skipped, not waited for; a row that
    // another claimer committed meanwhile is re-checked against the WHERE on its new version.
    const std::string last = "j.attempts >= j.max_attempts";
    return jobs_from_rows(tx.exec_params(
        "WITH picked AS (SELECT id FROM jobs WHERE state IN ('due', 'retry', 'claimed') "
        "AND due_at <= " +
            timestamp_param(1) + " AND (state <> 'claimed' OR claimed_until < " +
            timestamp_param(1) + ") AND " + kind_in(5) +
            " ORDER BY due_at, id LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED) "
            "UPDATE jobs j SET "
            "state = CASE WHEN " +
            last + " THEN 'dead' ELSE 'claimed' END, claimed_by = CASE WHEN " + last +
            " THEN j.claimed_by ELSE $2 END, claimed_until = CASE WHEN " + last +
            " THEN NULL ELSE " + timestamp_param(4) + " END, attempts = CASE WHEN " + last +
            " THEN j.attempts ELSE j.attempts + 1 END, last_error = CASE WHEN " + last +
            " THEN 'claim by ' || j.claimed_by || ' expired during the last attempt' "
            "ELSE j.last_error END, done_at = CASE WHEN " +
            last +
            " THEN now() END, updated_at = now() "
            "FROM picked WHERE j.id = picked.id RETURNING " +
            job_columns("j."),
        to_micros(now), worker_id, limit, until, text_array(kinds)));
  });
  if (!claimed.ok()) return claimed.error();
  std::vector<Job> out;
  out.reserve(claimed->size());
  for (auto& job : *claimed) {
    if (job.state == JobState::kClaimed) out.push_back(std::move(job));
  }
  // UPDATE … RETURNING follows no ORDER BY.
  std::sort(out.begin(), out.end(), [](const Job& a, const Job& b) {
    return a.due_at != b.due_at ? a.due_at < b.due_at : a.id < b.id;
  });
  return out;
}

common::Status PgJobQueue::complete(int64_t job_id, const std::string& worker_id) {
  return db_.transaction([&](pqxx::work& tx) -> common::Status {
    auto rows = tx.exec_params(
        "UPDATE jobs SET state = 'done', claimed_until = NULL, done_at = now(), "
        "updated_at = now() WHERE id = $1 AND state = 'claimed' AND claimed_by = $2 RETURNING id",
        job_id, worker_id);
    if (!rows.empty()) return {};
    RELAY_ASSIGN_OR_RETURN(auto job, current(tx, job_id));
    if (job.state == JobState::kDone && job.claimed_by == worker_id) return {};  // again
    return not_claimed_by(job, worker_id);
  });
}

common::Result<std::vector<int64_t>> PgJobQueue::complete_all(const std::vector<int64_t>& job_ids,
                                                              const std::string& worker_id) {
  if (job_ids.empty()) return std::vector<int64_t>();
  return db_.transaction([&](pqxx::work& tx) -> common::Result<std::vector<int64_t>> {
    // Marks what it can, then names the listed jobs that are not done by worker_id now: those
    // another worker holds or finished, and unknown ids.
    tx.exec_params0(
        "UPDATE jobs SET state = 'done', claimed_until = NULL, done_at = now(), "
        "updated_at = now() WHERE id = ANY($1::bigint[]) AND state = 'claimed' "
        "AND claimed_by = $2",
        bigint_array(job_ids), worker_id);
    auto rows = tx.exec_params(
        "SELECT u.id FROM unnest($1::bigint[]) u(id) LEFT JOIN jobs j ON j.id = u.id "
        "WHERE j.id IS NULL OR j.state <> 'done' OR j.claimed_by IS DISTINCT FROM $2 "
        "ORDER BY u.id",
        bigint_array(job_ids), worker_id);
    std::vector<int64_t> refused;
    refused.reserve(rows.size());
    for (const auto& row : rows) refused.push_back(row[0].as<int64_t>());
    return refused;
  });
}

common::Result<Job> PgJobQueue::retry(int64_t job_id, const std::string& worker_id,
                                      const std::string& error, common::TimePoint next_due) {
  return db_.transaction([&](pqxx::work& tx) -> common::Result<Job> {
    const std::string last = "attempts >= max_attempts";
    auto rows = tx.exec_params("UPDATE jobs SET state = CASE WHEN " + last +
                                   " THEN 'dead' ELSE 'retry' END, due_at = CASE WHEN " + last +
                                   " THEN due_at ELSE " + timestamp_param(4) +
                                   " END, claimed_until = NULL, last_error = $3, "
                                   "done_at = CASE WHEN " +
                                   last +
                                   " THEN now() END, updated_at = now() "
                                   "WHERE id = $1 AND state = 'claimed' AND claimed_by = $2 "
                                   "RETURNING " +
                                   kJobColumns,
                               job_id, worker_id, error, to_micros(next_due));
    if (!rows.empty()) return job_from_row(rows[0]);
    RELAY_ASSIGN_OR_RETURN(auto job, current(tx, job_id));
    if ((job.state == JobState::kRetry || job.state == JobState::kDead) &&
        job.claimed_by == worker_id) {
      return job;  // recorded before
    }
    return not_claimed_by(job, worker_id);
  });
}

common::Result<Job> PgJobQueue::reschedule(const std::string& kind, const std::string& ref,
                                           common::TimePoint due_at) {
  return db_.transaction([&](pqxx::work& tx) -> common::Result<Job> {
    RELAY_ASSIGN_OR_RETURN(auto job, lock_live(tx, kind, ref));
    if (!job) return no_live_job(kind, ref);
    if (job->state == JobState::kClaimed) return running(*job);
    return job_from_row(tx.exec_params1("UPDATE jobs SET due_at = " + timestamp_param(2) +
                                            ", updated_at = now() WHERE id = $1 RETURNING " +
                                            kJobColumns,
                                        job->id, to_micros(due_at)));
  });
}

common::Result<bool> PgJobQueue::cancel(const std::string& kind, const std::string& ref) {
  return db_.transaction([&](pqxx::work& tx) -> common::Result<bool> {
    RELAY_ASSIGN_OR_RETURN(auto job, lock_live(tx, kind, ref));
    if (!job) return false;
    if (job->state == JobState::kClaimed) return running(*job);
    tx.exec_params0(
        "UPDATE jobs SET state = 'done', last_error = 'cancelled', done_at = now(), "
        "updated_at = now() WHERE id = $1",
        job->id);
    return true;
  });
}

common::Result<std::optional<common::TimePoint>> PgJobQueue::next_due_at(
    const std::vector<std::string>& kinds) {
  return db_.read(
      [&](pqxx::nontransaction& tx) -> common::Result<std::optional<common::TimePoint>> {
        // Two index lookups (jobs_claimable, jobs_claimed_until); least() ignores a NULL side.
        auto row = tx.exec_params1(
            "SELECT " +
                micros_of("least((SELECT min(due_at) FROM jobs WHERE state IN ('due', 'retry') "
                          "AND " +
                          kind_in(1) +
                          "), (SELECT min(claimed_until) FROM jobs WHERE state = 'claimed' AND " +
                          kind_in(1) + "))"),
            text_array(kinds));
        if (row[0].is_null()) return std::optional<common::TimePoint>();
        return std::optional(from_micros(row[0].as<int64_t>()));
      });
}

common::Result<std::vector<Job>> PgJobQueue::list_dead(int limit) {
  if (limit < 1) {
    return common::make_error("invalid_request",
                              "limit must be at least 1, got " + std::to_string(limit));
  }
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<std::vector<Job>> {
    return jobs_from_rows(tx.exec_params("SELECT " + kJobColumns +
                                             " FROM jobs WHERE state = 'dead' "
                                             "ORDER BY done_at DESC, id DESC LIMIT $1",
                                         limit));
  });
}

common::Result<energy::JobCounts> PgJobQueue::count_by_state() {
  return db_.read([&](pqxx::nontransaction& tx) -> common::Result<energy::JobCounts> {
    energy::JobCounts counts;
    for (const auto& row : tx.exec("SELECT state, count(*) FROM jobs GROUP BY state")) {
      auto state = energy::job_state_from_name(row[0].as<std::string>());
      if (!state) return internal("unknown job state '" + row[0].as<std::string>() + "'");
      const int64_t n = row[1].as<int64_t>();
      switch (*state) {
        case JobState::kDue:
          counts.due = n;
          break;
        case JobState::kClaimed:
          counts.claimed = n;
          break;
        case JobState::kRetry:
          counts.retry = n;
          break;
        case JobState::kDone:
          counts.done = n;
          break;
        case JobState::kDead:
          counts.dead = n;
          break;
      }
    }
    return counts;
  });
}

common::Result<int64_t> PgJobQueue::purge_done(common::TimePoint before, int limit) {
  if (limit < 1) {
    return common::make_error("invalid_request",
                              "limit must be at least 1, got " + std::to_string(limit));
  }
  return db_.transaction([&](pqxx::work& tx) -> common::Result<int64_t> {
    // Oldest first through jobs_done_at; a batch at a time keeps the transaction short.
    auto deleted = tx.exec_params(
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'done' AND done_at < " +
            timestamp_param(1) + " ORDER BY done_at, id LIMIT $2)",
        to_micros(before), limit);
    return static_cast<int64_t>(deleted.affected_rows());
  });
}

}  // namespace relay::store
