#include "api/handler_support.h"

#include <algorithm>
#include <charconv>

#include "common/json.h"

namespace relay::api {

namespace json = boost::json;
using common::make_error;
using common::Result;

common::HttpResponse json_reply(int status, const json::value& body) {
  return common::HttpResponse{
      .status = status, .content_type = "application/json", .body = common::json_to_string(body)};
}

common::Error invalid(std::string message) {
  return make_error("invalid_request", std::move(message));
}

int64_t ms(common::TimePoint at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

json::value ms_or_null(const std::optional<common::TimePoint>& at) {
  if (!at) return nullptr;
  return ms(*at);
}

common::Status only_fields(const json::object& body,
                           std::initializer_list<std::string_view> known) {
  for (const auto& member : body) {
    if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
      return invalid("unknown field '" + std::string(member.key()) + "'");
    }
  }
  return {};
}

Result<int64_t> strict_int64(const json::value& value, std::string_view field) {
  if (value.is_int64()) return value.as_int64();
  if (value.is_uint64()) return invalid(std::string(field) + ": integer does not fit in int64");
  return invalid(std::string(field) + ": must be an integer");
}

Result<std::optional<int64_t>> optional_amount(const json::object& body, std::string_view field) {
  const json::value* value = body.if_contains(field);
  if (value == nullptr || value->is_null()) return std::optional<int64_t>();
  // An integer, or a decimal string for clients whose numbers are doubles; never a float.
  RELAY_ASSIGN_OR_RETURN(int64_t amount, common::json_get_int64(body, field));
  if (amount < 0) return invalid(std::string(field) + ": must not be negative");
  return std::optional(amount);
}

Result<int64_t> path_id(const PathParams& params, std::string_view name, std::string_view what) {
  std::string_view text = params.get(name);
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || id <= 0) {
    return make_error("not_found", "no " + std::string(what) + " '" + std::string(text) + "'");
  }
  return id;
}

Result<std::string> bounded_text(const json::object& body, std::string_view field, size_t max) {
  RELAY_ASSIGN_OR_RETURN(std::string text, common::json_get_string(body, field));
  bool blank = text.find_first_not_of(" \t") == std::string::npos;
  if (blank || text.size() > max) {
    return invalid(std::string(field) + ": must be 1.." + std::to_string(max) + " characters");
  }
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return invalid(std::string(field) + ": control characters are not allowed");
  }
  return text;
}

Result<common::Address> address_field(const json::object& body, std::string_view field) {
  const json::value* value = body.if_contains(field);
  if (value == nullptr) return invalid(std::string(field) + ": is required");
  if (!value->is_string()) return invalid(std::string(field) + ": must be a TRON address string");
  const json::string& text = value->as_string();
  if (text.size() > 100) return invalid(std::string(field) + ": not a TRON address");
  auto address = common::Address::parse(std::string_view(text.data(), text.size()));
  if (!address.ok()) {
    return make_error("invalid_address", std::string(field) + ": " + address.error().message);
  }
  return *address;
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] != '%') {
      out.push_back(text[i]);
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = hex_digit(text[i + 1]);
      int low = hex_digit(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    }
  }
  return out;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq));
    auto value =
        percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) return invalid("malformed query string");
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

Result<int64_t> query_int64(std::string_view field, const std::string& text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return invalid(std::string(field) + ": must be an integer");
  }
  return value;
}

}  // namespace relay::api
