// What every route handler uses: the Call a handler receives, JSON replies, and the strict input
// checks (unknown fields refused, integers exact, ids and text bounded). Route modules such as
// api/pool_routes.cc build on these so that every endpoint refuses bad input the same way.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/router.h"
#include "common/address.h"
#include "common/clock.h"
#include "common/http_server.h"
#include "common/result.h"
#include "energy/tenant.h"

namespace relay::api {

// One request on its way through the pipeline.
struct Call {
  const common::HttpRequest& request;
  const PathParams& params;
  const energy::ApiKey* key = nullptr;  // set on every route but the public ones
  boost::json::object body;             // the parsed body of routes that take one
  // What an Idempotency-Key stores instead of the reply body, when the reply holds a secret.
  std::optional<std::string> body_to_store;

  int64_t tenant_id() const { return key->tenant_id; }
  std::string actor() const { return "key:" + std::to_string(key->id); }
};

using Handler = std::function<common::Result<common::HttpResponse>(Call&)>;

// Who may call a route: anyone, any valid key, a key with `scope`.
enum class Access { kPublic, kAnyScope, kScope };

struct RouteSpec {
  Access access = Access::kPublic;
  energy::Scope scope = energy::Scope::kAdmin;  // when access is kScope
  bool takes_body = false;
  Handler handler;
};

// A scoped route whose handler is a member of a route module; the module is shared by its routes
// and lives as long as they do.
template <typename Module>
RouteSpec module_route(const std::shared_ptr<Module>& module, energy::Scope scope, bool takes_body,
                       common::Result<common::HttpResponse> (Module::*handler)(Call&)) {
  return RouteSpec{.access = Access::kScope,
                   .scope = scope,
                   .takes_body = takes_body,
                   .handler = [module, handler](Call& call) { return (*module.*handler)(call); }};
}

// Route modules register through this, so they need not see ApiServer's internals.
class RouteRegistrar {
 public:
  virtual ~RouteRegistrar() = default;
  virtual void add(std::string method, std::string pattern, RouteSpec route) = 0;
};

common::HttpResponse json_reply(int status, const boost::json::value& body);
common::Error invalid(std::string message);

int64_t ms(common::TimePoint at);
boost::json::value ms_or_null(const std::optional<common::TimePoint>& at);

// Bodies are strict: an unknown field is refused, so a typo such as "expire_days" fails loudly
// instead of being ignored.
common::Status only_fields(const boost::json::object& body,
                           std::initializer_list<std::string_view> known);
// An int64 written as a JSON integer; strings, fractions and exponents are refused.
common::Result<int64_t> strict_int64(const boost::json::value& value, std::string_view field);
// An optional amount: absent or null → empty; otherwise an integer (or decimal string) ≥ 0.
common::Result<std::optional<int64_t>> optional_amount(const boost::json::object& body,
                                                       std::string_view field);
// A path id: a positive int64 in decimal. Anything else names no object, hence 404, like an id
// that does not exist.
common::Result<int64_t> path_id(const PathParams& params, std::string_view name,
                                std::string_view what);
// A required string of 1..max printable characters.
common::Result<std::string> bounded_text(const boost::json::object& body, std::string_view field,
                                         size_t max);
// A TRON address in base58 (T…) or hex (41…) form, named in the error.
common::Result<common::Address> address_field(const boost::json::object& body,
                                              std::string_view field);

// application/x-www-form-urlencoded query → pairs; a malformed escape is an error.
common::Result<std::vector<std::pair<std::string, std::string>>> parse_query(
    std::string_view query);
common::Result<int64_t> query_int64(std::string_view field, const std::string& text);

}  // namespace relay::api
