// Timestamps between C++ and PostgreSQL: columns are timestamptz and travel as int64 microseconds
// since the Unix epoch, both ways, so no time zone or text format is involved and values round-trip
// exactly (at PostgreSQL's microsecond resolution). Internal to store/ and migrations/.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace relay::store {

inline int64_t to_micros(common::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

inline common::TimePoint from_micros(int64_t micros) {
  return common::TimePoint(
      std::chrono::duration_cast<common::TimePoint::duration>(std::chrono::microseconds(micros)));
}

// SQL reading a timestamptz column as microseconds; extract() is numeric in PostgreSQL 15: exact.
inline std::string micros_of(std::string_view column) {
  return "(extract(epoch from " + std::string(column) + ") * 1000000)::bigint";
}

// SQL turning parameter $n (bigint microseconds) into a timestamptz.
inline std::string timestamp_param(int n) {
  return "('epoch'::timestamptz + $" + std::to_string(n) + "::bigint * interval '1 microsecond')";
}

}  // namespace relay::store
