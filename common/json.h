// JSON helpers on Boost.JSON for the shapes tronrelay reads and writes: int64 amounts that must
// never pass through a double, strict field access with errors naming the field.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace relay::common {

// Parses text that must be a JSON object; the error names the offset of a syntax error.
Result<boost::json::object> parse_json_object(std::string_view text);

// Reads an integer that fits int64 from a JSON number without fraction or exponent, or from a
// decimal string (how JSON clients carry amounts above 2^53). Floats are refused.
Result<int64_t> json_int64(const boost::json::value& value, std::string_view field);
// As json_int64 for `object[field]`; a missing field is an error.
Result<int64_t> json_get_int64(const boost::json::object& object, std::string_view field);
// A missing field gives `fallback`.
Result<int64_t> json_get_int64_or(const boost::json::object& object, std::string_view field,
                                  int64_t fallback);
Result<std::string> json_get_string(const boost::json::object& object, std::string_view field);
Result<bool> json_get_bool_or(const boost::json::object& object, std::string_view field,
                              bool fallback);

// Compact serialization with object members in insertion order.
std::string json_to_string(const boost::json::value& value);

}  // namespace relay::common
