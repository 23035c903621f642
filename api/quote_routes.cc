#include "api/quote_routes.h"

#include <memory>
#include <string>

#include "common/json.h"

namespace relay::api {
namespace {

namespace json = boost::json;
using common::HttpResponse;
using common::Result;

json::object price_json(const energy::PriceBreakdown& price) {
  return json::object{{"unit_price_sun_per_energy", price.unit_price_sun_per_energy},
                      {"energy_sun", price.energy_sun.value()},
                      {"bandwidth_sun", price.bandwidth_sun.value()},
                      {"activation_sun", price.activation_sun.value()},
                      {"total_sun", price.total_sun.value()}};
}

// {"to": address, "amount"?: integer ≥ 1}; amount defaults to 1 base unit.
Result<energy::UsdtTransferIntent> usdt_transfer_intent(const json::value& value) {
  if (!value.is_object()) return invalid("usdt_transfer: must be an object {\"to\", \"amount\"}");
  const json::object& intent = value.as_object();
  if (auto known = only_fields(intent, {"to", "amount"}); !known.ok()) {
    return invalid("usdt_transfer: " + known.error().message);
  }
  energy::UsdtTransferIntent out;
  auto to = address_field(intent, "to");
  if (!to.ok()) return common::make_error(to.error().code, "usdt_transfer." + to.error().message);
  out.to = *to;
  if (const json::value* amount = intent.if_contains("amount")) {
    RELAY_ASSIGN_OR_RETURN(out.amount, common::json_int64(*amount, "usdt_transfer.amount"));
    if (out.amount < 1) return invalid("usdt_transfer.amount: must be at least 1");
  }
  return out;
}

class QuoteRoutes {
 public:
  explicit QuoteRoutes(energy::QuoteService& quotes) : quotes_(quotes) {}

  void register_on(RouteRegistrar& routes, const std::shared_ptr<QuoteRoutes>& self) {
    auto scoped = [&self](bool takes_body, Result<HttpResponse> (QuoteRoutes::*handler)(Call&)) {
      return module_route(self, energy::Scope::kQuote, takes_body, handler);
    };
    routes.add("POST", "/v1/quote", scoped(true, &QuoteRoutes::create));
    routes.add("GET", "/v1/quote/{id}", scoped(false, &QuoteRoutes::view));
  }

 private:
  Result<HttpResponse> create(Call& call) {
    const json::object& body = call.body;
    RELAY_TRY_STATUS(only_fields(body, {"receiver", "energy", "usdt_transfer", "duration_s"}));
    energy::QuoteRequest request;
    RELAY_ASSIGN_OR_RETURN(request.receiver, address_field(body, "receiver"));
    const json::value* energy = body.if_contains("energy");
    const json::value* usdt = body.if_contains("usdt_transfer");
    if ((energy == nullptr) == (usdt == nullptr)) {
      return invalid("give exactly one of energy and usdt_transfer");
    }
    if (energy != nullptr) {
      RELAY_ASSIGN_OR_RETURN(int64_t amount, common::json_int64(*energy, "energy"));
      if (amount < 1) return invalid("energy: must be positive");
      request.energy = common::Energy(amount);
    } else {
      RELAY_ASSIGN_OR_RETURN(request.usdt_transfer, usdt_transfer_intent(*usdt));
    }
    RELAY_ASSIGN_OR_RETURN(request.duration_s, common::json_get_int64(body, "duration_s"));
    RELAY_ASSIGN_OR_RETURN(auto quote, quotes_.create(call.tenant_id(), request));
    return json_reply(201, quote_json(quote, energy::QuoteState::kOpen));
  }

  Result<HttpResponse> view(Call& call) {
    RELAY_ASSIGN_OR_RETURN(auto view,
                           quotes_.get(call.tenant_id(), std::string(call.params.get("id"))));
    return json_reply(200, quote_json(view.quote, view.state));
  }

  energy::QuoteService& quotes_;
};

}  // namespace

void add_quote_routes(RouteRegistrar& routes, energy::QuoteService& quotes) {
  // Each handler holds a share of the module, so it lives as long as the routes do.
  auto module = std::make_shared<QuoteRoutes>(quotes);
  module->register_on(routes, module);
}

json::object quote_json(const energy::Quote& quote, energy::QuoteState state) {
  json::value usdt_transfer = nullptr;
  if (quote.usdt_transfer) {
    const auto& u = *quote.usdt_transfer;
    usdt_transfer = json::object{{"to", u.to.to_base58()},
                                 {"amount", u.amount},
                                 {"energy_required", u.energy_required},
                                 {"receiver_available", u.receiver_available}};
  }
  return json::object{{"id", quote.id},
                      {"status", energy::quote_state_name(state)},
                      {"receiver", quote.receiver.to_base58()},
                      {"receiver_hex", quote.receiver.to_hex()},
                      {"energy", quote.energy.value()},
                      {"duration_s", quote.duration_s},
                      {"stake_sun", quote.stake_sun.value()},
                      {"price", price_json(quote.price)},
                      {"activation_required", quote.activation_required},
                      {"fillable", quote.fillable},
                      {"usdt_transfer", std::move(usdt_transfer)},
                      {"chain", json::object{{"total_energy_limit", quote.total_energy_limit},
                                             {"total_energy_weight", quote.total_energy_weight}}},
                      // Reserved for the best provider's offer beside ours (providers come later).
                      {"provider", nullptr},
                      {"created_at", ms(quote.created_at)},
                      {"expires_at", ms(quote.expires_at)},
                      {"used_at", ms_or_null(quote.used_at)}};
}

}  // namespace relay::api
