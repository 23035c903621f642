// Router: finds which API route a method and path belong to, with `{name}` path segments captured
// as parameters. It only answers "which route, with which parameters" (or why none): what a route
// does, and the 404/405 replies, belong to ApiServer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relay::api {

// Captured `{name}` segments of a matched path, percent-decoded.
class PathParams {
 public:
  void add(std::string name, std::string value) {
    values_.emplace_back(std::move(name), std::move(value));
  }
  // The value of `{name}`, or "" when the route has no such segment.
  std::string_view get(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

class Router {
 public:
  using RouteId = size_t;

  // `pattern` is absolute, e.g. "/v1/keys/{id}"; a segment is either literal or a whole `{name}`.
  // Registering the same method and pattern twice, or a malformed pattern, is a programming error.
  RouteId add(std::string method, std::string pattern);

  struct Match {
    enum class Kind { kFound, kNotFound, kMethodNotAllowed };
    Kind kind = Kind::kNotFound;
    RouteId route = 0;    // when found
    std::string pattern;  // when found: the registered pattern, a bounded metrics label
    PathParams params;    // when found
    std::string allow;    // when the method is wrong: "GET, HEAD, POST" for the Allow header
  };

  // HEAD is answered by GET routes. Literal segments win over `{param}` ones, so
  // "/pools/validate-address" is found before "/pools/{id}" whatever the registration order.
  Match match(std::string_view method, std::string_view path) const;

  const std::string& pattern(RouteId id) const { return routes_[id].pattern; }
  const std::string& method(RouteId id) const { return routes_[id].method; }

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool is_param = false;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
  };

  std::vector<Route> routes_;
};

}  // namespace relay::api
