#include "common/units.h"

#include <gtest/gtest.h>

#include <limits>

#include "common/clock.h"

namespace relay::common {
namespace {

TEST(Units, CheckedArithmeticCatchesOverflow) {
  Sun max(std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(max.checked_add(Sun(1)).ok());
  EXPECT_EQ(max.checked_add(Sun(1)).error().code, "arithmetic_overflow");
  EXPECT_FALSE(Sun(std::numeric_limits<int64_t>::min()).checked_sub(Sun(1)).ok());
  EXPECT_FALSE(Sun(1LL << 62).checked_mul(4).ok());
  EXPECT_EQ(Sun(5).checked_add(Sun(7))->value(), 12);
  EXPECT_EQ(Sun(5).checked_sub(Sun(7))->value(), -2);
  EXPECT_EQ(Energy(64'285).checked_mul(2)->value(), 128'570);
}

TEST(Units, TrxConversionAndOrdering) {
  EXPECT_EQ(sun_from_trx(10)->value(), 10'000'000);
  EXPECT_FALSE(sun_from_trx(std::numeric_limits<int64_t>::max() / 100).ok());
  EXPECT_LT(Sun(1), Sun(2));
  EXPECT_EQ(Sun(3).to_string(), "3 sun");
  EXPECT_EQ(Energy(3).to_string(), "3 energy");
  static_assert(!std::is_convertible_v<Energy, Sun>, "energy is not money");
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  auto clock = ManualClock::at_ms(1'751'466'432'000);
  EXPECT_EQ(clock.now_ms(), 1'751'466'432'000);
  clock.advance(std::chrono::seconds(60));
  EXPECT_EQ(clock.now_ms(), 1'751'466'492'000);
  SystemClock system;
  EXPECT_GT(system.now_ms(), 1'700'000'000'000);
}

}  // namespace
}  // namespace relay::common
