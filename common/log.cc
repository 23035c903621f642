#include "common/log.h"

#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <ostream>

#include "common/json.h"

namespace relay::common {
namespace {

const SystemClock& system_clock() {
  static const SystemClock clock;
  return clock;
}

bool is_base64url(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Key names that only ever hold credentials; matched as substrings of the lowercased key so that
// "relayer_private_key" and "X-Api-Key" are caught too.
bool names_a_secret(std::string_view key) {
  static constexpr std::array<std::string_view, 8> kSecretWords = {
      "authorization", "password", "secret",      "token",
      "api_key",       "apikey",   "private_key", "credential"};
  std::string lowered = lower(key);
  for (char& c : lowered) {
    if (c == '-') c = '_';
  }
  for (std::string_view word : kSecretWords) {
    if (lowered.find(word) != std::string::npos) return true;
  }
  return false;
}

bool starts_with_icase(std::string_view text, std::string_view lowercase_prefix) {
  if (text.size() < lowercase_prefix.size()) return false;
  for (size_t i = 0; i < lowercase_prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != lowercase_prefix[i]) return false;
  }
  return true;
}

constexpr std::string_view kRedacted = "[redacted]";

}  // namespace

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  std::string lowered = lower(name);
  if (lowered == "debug") return LogLevel::kDebug;
  if (lowered == "info") return LogLevel::kInfo;
  if (lowered == "warn" || lowered == "warning") return LogLevel::kWarn;
  if (lowered == "error") return LogLevel::kError;
  return std::nullopt;
}

std::string format_rfc3339_ms(TimePoint at) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  // Floor division, so instants before 1970 still print a valid time of day.
  int64_t seconds = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t millis = ms - seconds * 1000;
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];  // sized for any int year so the compiler can prove no truncation
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return text;
}

std::string scrub_secrets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    std::string_view rest = text.substr(i);
    // An API key: "trk_" and its random part. Partial keys (the 12-character display prefix) are
    // not secret and stay readable: only a run longer than a prefix is masked.
    if (rest.starts_with("trk_")) {
      size_t end = 4;
      while (end < rest.size() && is_base64url(rest[end])) ++end;
      if (end - 4 > 8) {
        out += "trk_";
        out += kRedacted;
        i += end;
        continue;
      }
    }
    // "Bearer <credential>", as in a copied Authorization header.
    if (rest.size() > 7 && starts_with_icase(rest, "bearer ")) {
      size_t end = 7;
      while (end < rest.size() && rest[end] == ' ') ++end;
      size_t token_end = end;
      while (token_end < rest.size() &&
             std::isspace(static_cast<unsigned char>(rest[token_end])) == 0 &&
             rest[token_end] != '"') {
        ++token_end;
      }
      if (token_end > end) {
        out.append(rest.substr(0, 7));
        out += kRedacted;
        i += token_end;
        continue;
      }
    }
    out.push_back(text[i]);
    ++i;
  }
  return out;
}

Logger::Logger(std::ostream& out, LogLevel min_level, const Clock* clock)
    : out_(out), clock_(clock != nullptr ? *clock : system_clock()), level_(min_level) {}

Logger::Logger(std::ostream& out, LogBatching batching, LogLevel min_level, const Clock* clock)
    : out_(out),
      clock_(clock != nullptr ? *clock : system_clock()),
      level_(min_level),
      batching_(batching),
      writer_([this] { run_writer(); }) {}

Logger::~Logger() {
  if (writer_.joinable()) {
    {
      std::lock_guard lock(pending_mutex_);
      stopping_ = true;
    }
    wake_writer_.notify_one();
    writer_.join();
  }
  flush();
}

void Logger::flush() {
  std::lock_guard write_lock(write_mutex_);
  {
    std::lock_guard lock(pending_mutex_);
    writing_.swap(pending_);
  }
  if (writing_.empty()) return;
  out_.write(writing_.data(), static_cast<std::streamsize>(writing_.size()));
  out_.flush();
  writing_.clear();  // keeps its capacity: the two buffers swap back and forth without allocating
}

void Logger::run_writer() {
  std::unique_lock lock(pending_mutex_);
  while (true) {
    writer_idle_ = true;
    wake_writer_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    writer_idle_ = false;
    if (stopping_) return;  // the destructor writes what is left
    lock.unlock();
    flush();
    lock.lock();
    // Lines logged meanwhile wait for the next round, so that under load there is at most one
    // write per max_delay. Loggers do not notify during this wait (the writer is not idle).
    wake_writer_.wait_for(lock, batching_->max_delay, [&] { return stopping_; });
  }
}

void Logger::set_level(LogLevel level) { level_.store(level, std::memory_order_relaxed); }

LogLevel Logger::level() const { return level_.load(std::memory_order_relaxed); }

void Logger::log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!enabled(level)) return;
  boost::json::object line;
  line["ts"] = format_rfc3339_ms(clock_.now());
  line["level"] = log_level_name(level);
  line["msg"] = scrub_secrets(msg);
  for (const LogField& field : fields) {
    std::string key(field.key());
    if (key == "ts" || key == "level" || key == "msg") key = "field." + key;
    if (names_a_secret(key)) {
      line[key] = kRedacted;
      continue;
    }
    std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::string_view>) {
            line[key] = scrub_secrets(value);
          } else if constexpr (std::is_same_v<T, double>) {
            // JSON has no NaN or infinity; a string keeps the line parseable.
            if (std::isfinite(value)) {
              line[key] = value;
            } else {
              line[key] = std::isnan(value) ? "NaN" : (value > 0 ? "Infinity" : "-Infinity");
            }
          } else {
            line[key] = value;
          }
        },
        field.value());
  }
  std::string text = json_to_string(line);
  text.push_back('\n');
  if (!batching_) {
    std::lock_guard lock(write_mutex_);
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
    out_.flush();
    return;
  }
  // A warning or an error is what an operator reads after a crash: it goes out before log()
  // returns, with every line before it.
  bool write_now = level >= LogLevel::kWarn;
  bool wake = false;
  {
    std::lock_guard lock(pending_mutex_);
    wake = writer_idle_ && pending_.empty();
    pending_ += text;
    write_now = write_now || pending_.size() >= batching_->max_pending_bytes;
  }
  if (write_now) {
    flush();
  } else if (wake) {
    wake_writer_.notify_one();
  }
}

}  // namespace relay::common
