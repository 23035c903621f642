#include "api/router.h"

#include <algorithm>
#include <cassert>
#include <optional>
#include <set>

namespace relay::api {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  // A path is "/" followed by segments separated by "/"; "/" alone has one empty segment.
  if (path.empty() || path.front() != '/') return segments;
  path.remove_prefix(1);
  for (;;) {
    size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// nullopt for a malformed escape; such a path matches no parameter.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int high = hex_value(text[i + 1]);
    int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

}  // namespace

std::string_view PathParams::get(std::string_view name) const {
  for (const auto& [key, value] : values_) {
    if (key == name) return value;
  }
  return {};
}

Router::RouteId Router::add(std::string method, std::string pattern) {
  Route route{.method = std::move(method), .pattern = std::move(pattern), .segments = {}};
  auto parts = split_path(route.pattern);
  assert(!parts.empty() && "a route pattern starts with '/'");
  for (std::string_view part : parts) {
    bool is_param = part.size() > 2 && part.front() == '{' && part.back() == '}';
    assert((is_param || part.find_first_of("{}") == std::string_view::npos) &&
           "a parameter is a whole segment");
    route.segments.push_back(
        Segment{.text = std::string(is_param ? part.substr(1, part.size() - 2) : part),
                .is_param = is_param});
  }
  for ([[maybe_unused]] const Route& existing : routes_) {
    assert(!(existing.method == route.method && existing.pattern == route.pattern) &&
           "route registered twice");
  }
  routes_.push_back(std::move(route));
  return routes_.size() - 1;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  auto parts = split_path(path);
  Match result;
  std::set<std::string> allowed;
  // Of the routes whose shape fits, the best is the one with a literal where the others have a
  // parameter at the first place they differ: compare the "is a parameter" flags in order.
  std::optional<std::vector<bool>> best_shape;
  for (RouteId id = 0; id < routes_.size(); ++id) {
    const Route& route = routes_[id];
    if (route.segments.size() != parts.size()) continue;
    PathParams params;
    std::vector<bool> shape;
    bool fits = true;
    for (size_t i = 0; i < parts.size() && fits; ++i) {
      const Segment& segment = route.segments[i];
      shape.push_back(segment.is_param);
      if (!segment.is_param) {
        fits = segment.text == parts[i];
      } else if (parts[i].empty()) {
        fits = false;
      } else if (auto decoded = percent_decode(parts[i])) {
        params.add(segment.text, std::move(*decoded));
      } else {
        fits = false;
      }
    }
    if (!fits) continue;
    bool method_fits = route.method == method || (method == "HEAD" && route.method == "GET");
    if (!method_fits) {
      allowed.insert(route.method);
      if (route.method == "GET") allowed.insert("HEAD");
      continue;
    }
    if (best_shape && !(shape < *best_shape)) continue;
    best_shape = shape;
    result.kind = Match::Kind::kFound;
    result.route = id;
    result.pattern = route.pattern;
    result.params = std::move(params);
  }
  if (result.kind == Match::Kind::kFound) return result;
  if (!allowed.empty()) {
    result.kind = Match::Kind::kMethodNotAllowed;
    for (const std::string& m : allowed) {
      if (!result.allow.empty()) result.allow += ", ";
      result.allow += m;
    }
  }
  return result;
}

}  // namespace relay::api
