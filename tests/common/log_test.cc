#include "common/log.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"

namespace relay::common {
namespace {

std::vector<boost::json::object> parse_lines(const std::string& text) {
  std::vector<boost::json::object> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto parsed = parse_json_object(line);
    EXPECT_TRUE(parsed.ok()) << line;
    if (parsed.ok()) out.push_back(*parsed);
  }
  return out;
}

class LoggerTest : public ::testing::Test {
 protected:
  std::vector<boost::json::object> lines() const {
    std::vector<boost::json::object> out;
    std::istringstream in(out_.str());
    std::string line;
    while (std::getline(in, line)) {
      auto parsed = parse_json_object(line);
      EXPECT_TRUE(parsed.ok()) << line;
      if (parsed.ok()) out.push_back(*parsed);
    }
    return out;
  }

  std::ostringstream out_;
  ManualClock clock_ = ManualClock::at_ms(1'714'564'800'123);  // 2024-05-01T12:00:00.123Z
  Logger logger_{out_, LogLevel::kInfo, &clock_};
};

TEST_F(LoggerTest, WritesOneJsonObjectPerLineWithFieldsInOrder) {
  logger_.info("request", {{"request_id", "req_0123456789abcdef"},
                           {"status", 200},
                           {"latency_ms", 1.5},
                           {"bytes", size_t{42}},
                           {"cached", false}});
  EXPECT_EQ(out_.str(),
            R"({"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"request",)"
            R"("request_id":"req_0123456789abcdef","status":200,"latency_ms":1.5E0,"bytes":42,)"
            R"("cached":false})"
            "\n");
}

TEST_F(LoggerTest, LevelFilterDropsLowerLevels) {
  logger_.debug("hidden");
  logger_.info("shown");
  logger_.set_level(LogLevel::kError);
  logger_.warn("hidden too");
  logger_.error("also shown");
  auto got = lines();
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0]["level"], "info");
  EXPECT_EQ(got[1]["level"], "error");
  EXPECT_EQ(got[1]["msg"], "also shown");
  EXPECT_FALSE(logger_.enabled(LogLevel::kWarn));
  EXPECT_EQ(logger_.level(), LogLevel::kError);
}

TEST_F(LoggerTest, ParsesLevelNames) {
  EXPECT_EQ(parse_log_level("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(parse_log_level("warning"), LogLevel::kWarn);
  EXPECT_EQ(parse_log_level("error"), LogLevel::kError);
  EXPECT_FALSE(parse_log_level("loud").has_value());
  EXPECT_EQ(log_level_name(LogLevel::kWarn), "warn");
}

TEST_F(LoggerTest, ReservedKeysCannotBeOverwrittenAndTextIsEscaped) {
  logger_.info("quote \" newline \n end", {{"msg", "spoof"}, {"level", "debug"}});
  auto got = lines();
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0]["msg"], "quote \" newline \n end");
  EXPECT_EQ(got[0]["level"], "info");
  EXPECT_EQ(got[0]["field.msg"], "spoof");
  EXPECT_EQ(got[0]["field.level"], "debug");
}

TEST_F(LoggerTest, SecretNamedFieldsAreRedacted) {
  logger_.info("auth", {{"Authorization", "Bearer trk_abc"},
                        {"api_key", "whatever"},
                        {"relayer_private_key", "00ff"},
                        {"X-Api-Key", "k"},
                        {"client_secret", "s"},
                        {"key_prefix", "trk_AbCdEfGh"}});
  auto line = lines().at(0);
  EXPECT_EQ(line["Authorization"], "[redacted]");
  EXPECT_EQ(line["api_key"], "[redacted]");
  EXPECT_EQ(line["relayer_private_key"], "[redacted]");
  EXPECT_EQ(line["X-Api-Key"], "[redacted]");
  EXPECT_EQ(line["client_secret"], "[redacted]");
  // The 12-character display prefix is not a secret and stays readable.
  EXPECT_EQ(line["key_prefix"], "trk_AbCdEfGh");
}

TEST_F(LoggerTest, CredentialsInsideTextAreMasked) {
  std::string key = "trk_" + std::string(43, 'Q');
  logger_.warn("rejected " + key + " from client", {{"header", "Bearer " + key}, {"n", 1}});
  std::string text = out_.str();
  EXPECT_EQ(text.find(std::string(43, 'Q')), std::string::npos) << text;
  auto line = lines().at(0);
  EXPECT_EQ(line["msg"], "rejected trk_[redacted] from client");
  EXPECT_EQ(line["header"], "Bearer [redacted]");
  EXPECT_EQ(scrub_secrets("bearer   abc.def rest"), "bearer [redacted] rest");
  EXPECT_EQ(scrub_secrets("no secrets here"), "no secrets here");
}

TEST_F(LoggerTest, NonFiniteNumbersKeepTheLineValidJson) {
  logger_.info("odd", {{"nan", std::numeric_limits<double>::quiet_NaN()},
                       {"inf", std::numeric_limits<double>::infinity()}});
  auto line = lines().at(0);
  EXPECT_EQ(line["nan"], "NaN");
  EXPECT_EQ(line["inf"], "Infinity");
}

TEST_F(LoggerTest, FormatsTimestampsInUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339_ms(TimePoint(std::chrono::milliseconds(0))), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(TimePoint(std::chrono::milliseconds(951'782'400'999))),
            "2000-02-29T00:00:00.999Z");
  EXPECT_EQ(format_rfc3339_ms(TimePoint(std::chrono::milliseconds(-1))),
            "1969-12-31T23:59:59.999Z");
}

TEST_F(LoggerTest, ConcurrentWritersNeverInterleaveLines) {
  constexpr int kThreads = 4;
  constexpr int kLines = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) logger_.info("line", {{"thread", t}, {"i", i}});
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(lines().size(), static_cast<size_t>(kThreads * kLines));
}

// A batched logger whose writer thread never runs a second round on its own within a test: what
// the stream holds is then decided by flush(), the destructor, warnings and the size bound.
constexpr LogBatching kSlowWriter{.max_delay = std::chrono::hours(1)};

TEST(BatchedLoggerTest, FlushWritesEveryLineOnceInEachThreadsOrder) {
  std::ostringstream out;
  ManualClock clock = ManualClock::at_ms(1'714'564'800'123);
  Logger logger(out, kSlowWriter, LogLevel::kInfo, &clock);
  constexpr int kThreads = 4;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) logger.info("line", {{"thread", t}, {"i", i}});
    });
  }
  for (auto& thread : threads) thread.join();
  logger.flush();
  auto got = parse_lines(out.str());
  ASSERT_EQ(got.size(), static_cast<size_t>(kThreads * kLines));
  std::vector<int64_t> next(kThreads, 0);
  for (const auto& line : got) {
    int64_t t = line.at("thread").as_int64();
    EXPECT_EQ(line.at("i").as_int64(), next.at(static_cast<size_t>(t))) << "thread " << t;
    ++next.at(static_cast<size_t>(t));
  }
  EXPECT_EQ(got.front().at("ts"), "2024-05-01T12:00:00.123Z");
}

TEST(BatchedLoggerTest, WarningsAndErrorsAreWrittenWithEverythingBeforeThemWhenTheCallReturns) {
  std::ostringstream out;
  Logger logger(out, kSlowWriter);
  logger.info("first");
  logger.debug("dropped");
  logger.info("second");
  logger.warn("careful");
  auto got = parse_lines(out.str());
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[0]["msg"], "first");
  EXPECT_EQ(got[1]["msg"], "second");
  EXPECT_EQ(got[2]["msg"], "careful");
  logger.info("third");
  logger.error("failed");
  got = parse_lines(out.str());
  ASSERT_EQ(got.size(), 5U);
  EXPECT_EQ(got[3]["msg"], "third");
  EXPECT_EQ(got[4]["level"], "error");
}

TEST(BatchedLoggerTest, TheDestructorWritesWhatIsPending) {
  std::ostringstream out;
  {
    Logger logger(out, kSlowWriter);
    for (int i = 0; i < 100; ++i) logger.info("before exit", {{"i", i}});
  }
  auto got = parse_lines(out.str());
  ASSERT_EQ(got.size(), 100U);
  EXPECT_EQ(got.back()["i"], 99);
}

TEST(BatchedLoggerTest, AFullBufferIsWrittenByTheLoggingThread) {
  std::ostringstream out;
  Logger logger(out, LogBatching{.max_delay = std::chrono::hours(1), .max_pending_bytes = 1});
  logger.info("one");
  EXPECT_EQ(parse_lines(out.str()).size(), 1U);
  logger.info("two");
  EXPECT_EQ(parse_lines(out.str()).size(), 2U);
}

// Counts the flushes of the stream and lets a test wait for one: the event, not a duration.
class SignallingBuffer final : public std::stringbuf {
 public:
  bool wait_for_flush() {
    std::unique_lock lock(mutex_);
    return flushed_.wait_for(lock, std::chrono::seconds(30), [&] { return flushes_ > 0; });
  }
  std::string text() {
    std::lock_guard lock(mutex_);
    return str();
  }

 protected:
  int sync() override {
    {
      std::lock_guard lock(mutex_);
      ++flushes_;
    }
    flushed_.notify_all();
    return 0;
  }

 private:
  std::mutex mutex_;
  std::condition_variable flushed_;
  int flushes_ = 0;
};

TEST(BatchedLoggerTest, TheWriterThreadWritesAQuietLineWithoutAFlushCall) {
  SignallingBuffer buffer;
  std::ostream out(&buffer);
  Logger logger(out, kSlowWriter);
  logger.info("quiet");
  ASSERT_TRUE(buffer.wait_for_flush());
  auto got = parse_lines(buffer.text());
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0]["msg"], "quiet");
}

}  // namespace
}  // namespace relay::common
