// Sun and Energy: the two quantities tronrelay sells and charges, as distinct int64 types so that
// energy can never be added to money by accident. Arithmetic that can overflow is checked and
// returns a Result; there are no floating-point conversions anywhere.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <string>

#include "common/result.h"

namespace relay::common {

template <typename Tag>
class Quantity {
 public:
  constexpr Quantity() = default;
  constexpr explicit Quantity(int64_t value) : value_(value) {}

  constexpr int64_t value() const { return value_; }
  constexpr auto operator<=>(const Quantity&) const = default;

  Result<Quantity> checked_add(Quantity other) const {
    int64_t out;
    if (__builtin_add_overflow(value_, other.value_, &out)) return overflow("add");
    return Quantity(out);
  }
  Result<Quantity> checked_sub(Quantity other) const {
    int64_t out;
    if (__builtin_sub_overflow(value_, other.value_, &out)) return overflow("subtract");
    return Quantity(out);
  }
  Result<Quantity> checked_mul(int64_t factor) const {
    int64_t out;
    if (__builtin_mul_overflow(value_, factor, &out)) return overflow("multiply");
    return Quantity(out);
  }

  std::string to_string() const { return std::to_string(value_) + Tag::kSuffix; }

 private:
  static Error overflow(const char* op) {
    return make_error("arithmetic_overflow",
                      std::string("int64 overflow in ") + op + " of " + Tag::kName);
  }
  int64_t value_ = 0;
};

struct SunTag {
  static constexpr const char* kName = "sun";
  static constexpr const char* kSuffix = " sun";
};
struct EnergyTag {
  static constexpr const char* kName = "energy";
  static constexpr const char* kSuffix = " energy";
};

// 1 TRX = 1,000,000 sun. All money in tronrelay is Sun.
using Sun = Quantity<SunTag>;
// Energy units, as the TVM meters them.
using Energy = Quantity<EnergyTag>;

inline constexpr int64_t kSunPerTrx = 1'000'000;

inline Result<Sun> sun_from_trx(int64_t trx) { return Sun(kSunPerTrx).checked_mul(trx); }

}  // namespace relay::common
