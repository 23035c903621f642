#include "common/json.h"

// Boost.JSON is used header-only: Debian ships no compiled libboost_json, so this is its one
// translation unit.
#include <boost/json/src.hpp>
#include <charconv>

namespace relay::common {
namespace {

Error bad_field(std::string_view field, std::string message) {
  return make_error("invalid_request", std::string(field) + ": " + message);
}

}  // namespace

Result<boost::json::object> parse_json_object(std::string_view text) {
  boost::json::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 64;
  boost::json::value value = boost::json::parse(text, ec, {}, options);
  if (ec) return make_error("invalid_json", "malformed JSON: " + ec.message());
  if (!value.is_object()) return make_error("invalid_json", "expected a JSON object");
  return std::move(value.as_object());
}

Result<int64_t> json_int64(const boost::json::value& value, std::string_view field) {
  if (value.is_int64()) return value.as_int64();
  if (value.is_uint64()) return bad_field(field, "integer does not fit in int64");
  if (value.is_double()) return bad_field(field, "must be an integer, not a fraction or exponent");
  if (value.is_string()) {
    const auto& s = value.as_string();
    int64_t out = 0;
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, out);
    if (s.empty() || ec != std::errc() || ptr != end) {
      return bad_field(field, "must be a decimal integer string within int64");
    }
    return out;
  }
  return bad_field(field, "must be an integer");
}

Result<int64_t> json_get_int64(const boost::json::object& object, std::string_view field) {
  const auto* value = object.if_contains(field);
  if (value == nullptr) return bad_field(field, "is required");
  return json_int64(*value, field);
}

Result<int64_t> json_get_int64_or(const boost::json::object& object, std::string_view field,
                                  int64_t fallback) {
  const auto* value = object.if_contains(field);
  if (value == nullptr) return fallback;
  return json_int64(*value, field);
}

Result<std::string> json_get_string(const boost::json::object& object, std::string_view field) {
  const auto* value = object.if_contains(field);
  if (value == nullptr) return bad_field(field, "is required");
  if (!value->is_string()) return bad_field(field, "must be a string");
  return std::string(value->as_string());
}

Result<bool> json_get_bool_or(const boost::json::object& object, std::string_view field,
                              bool fallback) {
  const auto* value = object.if_contains(field);
  if (value == nullptr) return fallback;
  if (!value->is_bool()) return bad_field(field, "must be true or false");
  return value->as_bool();
}

std::string json_to_string(const boost::json::value& value) {
  return boost::json::serialize(value);
}

}  // namespace relay::common
