// Logger: one JSON object per line on stdout (journald reads it), e.g.
//   {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"request","request_id":"req_…","status":200}
// Thread-safe; lines below the level are dropped before any formatting. Built once in daemon/ and
// passed by reference; tests give it an ostringstream and a ManualClock.
//
// Writing: a synchronous Logger writes and flushes each line before log() returns (tests, tools).
// The daemon's is batched (LogBatching): a line is formatted by the caller, appended to a buffer
// under a short lock, and written with the lines around it by a writer thread, because a flush per
// line under one lock cost 1-4 ms of p99 at 64 connections. warn and error lines, flush() and the
// destructor still write everything pending before they return; only a process killed outright
// (SIGKILL, a crash) can lose the info and debug lines of its last few milliseconds.
//
// Secrets: there is deliberately no call that logs a request, its headers or a raw Authorization
// value — callers name each field they log. As a second line of defence every string written is
// scrubbed: a field whose key names a secret ("authorization", "password", "secret", "token",
// "api_key", "private_key", …) is written as "[redacted]", and anything that looks like an API key
// ("trk_…") or a bearer credential ("Bearer …") inside a message or value is masked.
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

#include "common/clock.h"

namespace relay::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

std::string_view log_level_name(LogLevel level);  // "debug", "info", "warn", "error"
std::optional<LogLevel> parse_log_level(std::string_view name);

// One extra "key": value of a log line. Views must stay valid until the log call returns.
class LogField {
 public:
  using Value = std::variant<std::string_view, int64_t, uint64_t, bool, double>;

  LogField(std::string_view key, std::string_view value) : key_(key), value_(value) {}
  LogField(std::string_view key, const char* value) : key_(key), value_(std::string_view(value)) {}
  LogField(std::string_view key, const std::string& value)
      : key_(key), value_(std::string_view(value)) {}
  LogField(std::string_view key, bool value) : key_(key), value_(value) {}
  LogField(std::string_view key, double value) : key_(key), value_(value) {}
  template <std::signed_integral T>
  LogField(std::string_view key, T value) : key_(key), value_(static_cast<int64_t>(value)) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) LogField(std::string_view key, T value)
      : key_(key), value_(static_cast<uint64_t>(value)) {}

  std::string_view key() const { return key_; }
  const Value& value() const { return value_; }

 private:
  std::string_view key_;
  Value value_;
};

// How a batched Logger groups lines into writes.
struct LogBatching {
  // The writer thread writes what is pending as soon as it is idle, then at most once per
  // max_delay: under load lines go out together, a quiet line goes out at once.
  std::chrono::milliseconds max_delay{5};
  // Pending text beyond this is written by the thread that logs, so that a stream slower than the
  // loggers (a stalled journald) holds them back instead of growing the buffer without bound.
  size_t max_pending_bytes = 256 * 1024;
};

class Logger {
 public:
  // Synchronous: every line is written and `out` flushed before log() returns. `out` and `clock`
  // must outlive the logger; a null clock means the system clock.
  explicit Logger(std::ostream& out, LogLevel min_level = LogLevel::kInfo,
                  const Clock* clock = nullptr);
  // Batched, see LogBatching. Starts the writer thread, which inherits the signal mask of the
  // constructing thread: build it after blocking the signals the process takes synchronously.
  Logger(std::ostream& out, LogBatching batching, LogLevel min_level = LogLevel::kInfo,
         const Clock* clock = nullptr);
  // Writes every pending line and flushes `out`.
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Writes every line logged before the call and flushes `out`; returns when they are out. When
  // nothing is pending it does not touch `out`.
  void flush();

  void set_level(LogLevel level);
  LogLevel level() const;
  bool enabled(LogLevel level) const { return level >= level_.load(std::memory_order_relaxed); }

  // Fields follow ts, level and msg in the order given; a field named like one of those three is
  // written as "field.<key>" so that it cannot overwrite them.
  void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
  void debug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kDebug, msg, fields);
  }
  void info(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kInfo, msg, fields);
  }
  void warn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kWarn, msg, fields);
  }
  void error(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::kError, msg, fields);
  }

 private:
  void run_writer();

  std::ostream& out_;
  const Clock& clock_;
  std::atomic<LogLevel> level_;
  const std::optional<LogBatching> batching_;

  std::mutex write_mutex_;  // held while writing to out_: one batch (or line) at a time, in order
  std::string writing_;     // the batch being written; guarded by write_mutex_

  std::mutex pending_mutex_;  // short: held only to append a line or take the batch
  std::condition_variable wake_writer_;
  std::string pending_;       // lines not yet written, oldest first
  bool writer_idle_ = false;  // the writer waits for a first pending line
  bool stopping_ = false;     // the destructor has begun; the writer exits
  std::thread writer_;        // last: starts once everything above exists
};

// RFC 3339 in UTC with milliseconds: "2024-05-01T12:00:00.123Z".
std::string format_rfc3339_ms(TimePoint at);
// Masks what looks like a credential in free text ("trk_…", "Bearer …"); exposed for tests.
std::string scrub_secrets(std::string_view text);

}  // namespace relay::common
