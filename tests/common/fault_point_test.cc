#include "common/fault_point.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

namespace relay::common {
namespace {

TEST(FaultPlanTest, NamesFireOnTheirFirstHit) {
  FaultPlan plan = FaultPlan::parse("after_sign, after_broadcast");
  EXPECT_FALSE(plan.empty());
  EXPECT_FALSE(plan.hit("after_write_ahead"));
  EXPECT_TRUE(plan.hit("after_sign"));
  EXPECT_FALSE(plan.hit("after_sign"));  // a restarted process reads the plan afresh
  EXPECT_TRUE(plan.hit("after_broadcast"));
}

TEST(FaultPlanTest, CountFiresOnTheNthHitOnly) {
  FaultPlan plan = FaultPlan::parse("mid_reclaim@3");
  EXPECT_FALSE(plan.hit("mid_reclaim"));
  EXPECT_FALSE(plan.hit("mid_reclaim"));
  EXPECT_TRUE(plan.hit("mid_reclaim"));
  EXPECT_FALSE(plan.hit("mid_reclaim"));
}

TEST(FaultPlanTest, MalformedEntriesAreRejectedNotGuessed) {
  std::vector<std::string> rejected;
  FaultPlan plan = FaultPlan::parse(",a@0, b@x ,c@2junk,@3,,d@ 2 ", &rejected);
  EXPECT_EQ(rejected, (std::vector<std::string>{"a@0", "b@x", "c@2junk", "@3"}));
  EXPECT_FALSE(plan.hit("a"));
  EXPECT_FALSE(plan.hit("b"));
  EXPECT_FALSE(plan.hit("d"));
  EXPECT_TRUE(plan.hit("d"));
  EXPECT_TRUE(FaultPlan::parse("").empty());
  EXPECT_TRUE(FaultPlan::parse(" , ").empty());
}

TEST(FaultPlanTest, ConcurrentHitsFireExactlyOnce) {
  FaultPlan plan = FaultPlan::parse("hot@500");
  std::atomic<int> fired{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        if (plan.hit("hot")) ++fired;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fired.load(), 1);
}

// The process-wide plan is read once, at the first point reached: each death test re-runs in a
// fresh process (threadsafe style) that sets the variable before reaching any point.
class FaultPointDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(FaultPointDeathTest, NamedPointKillsTheProcessWithTheFaultCode) {
  EXPECT_EXIT(
      {
        ::setenv(kFaultEnv, "after_write_ahead", 1);
        fault_point("after_sign");
        RELAY_FAULT_POINT("after_write_ahead");
        ::_exit(0);  // not reached
      },
      ::testing::ExitedWithCode(kFaultExitCode), "fault point after_write_ahead hit");
}

TEST_F(FaultPointDeathTest, NthHitFromAList) {
  EXPECT_EXIT(
      {
        ::setenv(kFaultEnv, "before_confirm,after_broadcast@2", 1);
        fault_point("after_broadcast");
        fault_point("after_sign");
        fault_point("after_broadcast");
        ::_exit(0);
      },
      ::testing::ExitedWithCode(kFaultExitCode), "fault point after_broadcast hit");
}

TEST_F(FaultPointDeathTest, UnsetVariableNeverFires) {
  EXPECT_EXIT(
      {
        ::unsetenv(kFaultEnv);
        for (int i = 0; i < 10; ++i) fault_point("after_sign");
        ::_exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(FaultPointDeathTest, DyingSkipsDestructorsAndBufferedOutput) {
  struct LoudDestructor {
    ~LoudDestructor() { std::fputs("destructor ran\n", stderr); }
  };
  EXPECT_EXIT(
      {
        ::setenv(kFaultEnv, "p", 1);
        LoudDestructor guard;
        fault_point("p");
      },
      ::testing::ExitedWithCode(kFaultExitCode),
      ::testing::AllOf(::testing::HasSubstr("fault point p hit"),
                       ::testing::Not(::testing::HasSubstr("destructor ran"))));
}

}  // namespace
}  // namespace relay::common
