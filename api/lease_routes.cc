#include "api/lease_routes.h"

#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/json.h"
#include "energy/quote.h"

namespace relay::api {
namespace {

namespace json = boost::json;
using common::HttpResponse;
using common::Result;

constexpr int64_t kPageDefault = 50;
constexpr int64_t kPageMax = 200;

json::value optional_int(const std::optional<int64_t>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

json::object price_json(const energy::PriceBreakdown& price) {
  return json::object{{"unit_price_sun_per_energy", price.unit_price_sun_per_energy},
                      {"energy_sun", price.energy_sun.value()},
                      {"bandwidth_sun", price.bandwidth_sun.value()},
                      {"activation_sun", price.activation_sun.value()},
                      {"total_sun", price.total_sun.value()}};
}

// A positive amount in sun: an integer, or a decimal string.
Result<common::Sun> positive_sun(const json::object& body, std::string_view field) {
  RELAY_ASSIGN_OR_RETURN(int64_t amount, common::json_get_int64(body, field));
  if (amount < 1) return invalid(std::string(field) + ": must be at least 1");
  return common::Sun(amount);
}

class LeaseRoutes {
 public:
  explicit LeaseRoutes(energy::LeaseService& leases) : leases_(leases) {}

  void register_on(RouteRegistrar& routes, const std::shared_ptr<LeaseRoutes>& self) {
    auto scoped = [&self](bool takes_body, Result<HttpResponse> (LeaseRoutes::*handler)(Call&)) {
      return module_route(self, energy::Scope::kLease, takes_body, handler);
    };
    routes.add("POST", "/v1/leases", scoped(true, &LeaseRoutes::create));
    routes.add("GET", "/v1/leases", scoped(false, &LeaseRoutes::list));
    routes.add("GET", "/v1/leases/{id}", scoped(false, &LeaseRoutes::view));
    routes.add("POST", "/v1/leases/{id}/reclaim", scoped(false, &LeaseRoutes::reclaim));
  }

 private:
  Result<HttpResponse> create(Call& call) {
    const json::object& body = call.body;
    RELAY_TRY_STATUS(only_fields(body, {"quote_id", "receiver", "energy", "duration_s",
                                        "max_cost_sun", "max_cost", "lock", "lock_period_blocks"}));
    energy::LeaseRequest request;
    if (body.contains("quote_id")) {
      RELAY_ASSIGN_OR_RETURN(std::string id, common::json_get_string(body, "quote_id"));
      if (!energy::is_quote_id(id)) return invalid("quote_id: not a quote id (q_ + 16 hex)");
      request.quote_id = std::move(id);
      for (const char* field : {"receiver", "energy", "duration_s"}) {
        if (body.contains(field)) {
          return invalid(std::string(field) + ": comes from the quote; send quote_id alone");
        }
      }
    } else {
      RELAY_ASSIGN_OR_RETURN(request.receiver, address_field(body, "receiver"));
      RELAY_ASSIGN_OR_RETURN(int64_t energy, common::json_get_int64(body, "energy"));
      if (energy < 1) return invalid("energy: must be positive");
      request.energy = common::Energy(energy);
      RELAY_ASSIGN_OR_RETURN(int64_t duration, common::json_get_int64(body, "duration_s"));
      if (duration < 1) return invalid("duration_s: must be positive");
      request.duration_s = duration;
    }
    // max_cost is DESIGN.md's name; max_cost_sun says the unit like every other amount.
    if (body.contains("max_cost_sun") && body.contains("max_cost")) {
      return invalid("give max_cost_sun or max_cost, not both");
    }
    for (const char* field : {"max_cost_sun", "max_cost"}) {
      if (body.contains(field)) {
        RELAY_ASSIGN_OR_RETURN(request.max_cost, positive_sun(body, field));
      }
    }
    if (!request.quote_id && !request.max_cost) {
      return invalid("max_cost_sun: is required for a lease without a quote");
    }
    RELAY_ASSIGN_OR_RETURN(request.lock, common::json_get_bool_or(body, "lock", false));
    if (body.contains("lock_period_blocks")) {
      if (!request.lock) return invalid("lock_period_blocks: only with \"lock\": true");
      RELAY_ASSIGN_OR_RETURN(request.lock_period_blocks,
                             common::json_get_int64(body, "lock_period_blocks"));
      if (request.lock_period_blocks < 0 ||
          request.lock_period_blocks > energy::kMaxLockPeriodBlocks) {
        return invalid("lock_period_blocks: must be 0.." +
                       std::to_string(energy::kMaxLockPeriodBlocks));
      }
    }
    RELAY_ASSIGN_OR_RETURN(auto lease, leases_.create(call.tenant_id(), request));
    if (lease.split_parts < 2) {
      return json_reply(lease.state == energy::LeaseState::kActive ? 201 : 202, lease_json(lease));
    }
    // A split lease: the first part, with every part (itself included) as each stands now.
    energy::LeaseFilter group;
    group.group_id = energy::group_of(lease);
    group.limit = 16;
    auto listed = leases_.list(call.tenant_id(), group);
    if (!listed.ok()) return json_reply(202, lease_json(lease));  // created: the parts come later
    const energy::LeasePage& page = *listed;
    json::array parts;
    bool all_active = true;
    for (auto it = page.leases.rbegin(); it != page.leases.rend(); ++it) {
      all_active = all_active && it->state == energy::LeaseState::kActive;
      parts.push_back(lease_json(*it));
    }
    json::object out = lease_json(lease);
    out["parts"] = std::move(parts);
    return json_reply(all_active ? 201 : 202, out);
  }

  Result<HttpResponse> list(Call& call) {
    RELAY_ASSIGN_OR_RETURN(auto query, parse_query(call.request.query));
    energy::LeaseFilter filter;
    int64_t limit = kPageDefault;
    for (const auto& [name, value] : query) {
      if (name == "status") {
        filter.state = energy::lease_state_from_name(value);
        if (!filter.state) return invalid("status: unknown lease status '" + value + "'");
      } else if (name == "receiver") {
        auto receiver = common::Address::parse(value);
        if (!receiver.ok()) return invalid("receiver: " + receiver.error().message);
        filter.receiver = *receiver;
      } else if (name == "limit") {
        RELAY_ASSIGN_OR_RETURN(limit, query_int64("limit", value));
        if (limit < 1 || limit > kPageMax) {
          return invalid("limit: must be 1.." + std::to_string(kPageMax));
        }
      } else if (name == "before") {
        RELAY_ASSIGN_OR_RETURN(int64_t id, query_int64("before", value));
        if (id < 1) return invalid("before: must be a positive lease id");
        filter.before_id = id;
      } else if (name == "group") {
        RELAY_ASSIGN_OR_RETURN(int64_t id, query_int64("group", value));
        if (id < 1) return invalid("group: must be a positive lease id");
        filter.group_id = id;
      } else {
        return invalid("unknown query parameter '" + name +
                       "' (status, receiver, group, limit, before)");
      }
    }
    filter.limit = static_cast<int>(limit);
    RELAY_ASSIGN_OR_RETURN(auto page, leases_.list(call.tenant_id(), filter));
    json::array leases;
    for (const auto& lease : page.leases) leases.push_back(lease_json(lease));
    return json_reply(200, json::object{{"leases", std::move(leases)},
                                        {"next_before", optional_int(page.next_before)}});
  }

  Result<HttpResponse> view(Call& call) {
    RELAY_ASSIGN_OR_RETURN(int64_t id, path_id(call.params, "id", "lease"));
    RELAY_ASSIGN_OR_RETURN(auto view, leases_.get(call.tenant_id(), id));
    json::object out = lease_json(view.lease);
    json::array txs;
    for (const auto& record : view.chain_txs) txs.push_back(lease_chain_tx_json(record));
    out["chain_txs"] = std::move(txs);
    return json_reply(200, out);
  }

  Result<HttpResponse> reclaim(Call& call) {
    RELAY_ASSIGN_OR_RETURN(int64_t id, path_id(call.params, "id", "lease"));
    RELAY_ASSIGN_OR_RETURN(auto lease, leases_.request_reclaim(call.tenant_id(), id));
    // 202: accepted, the reclaim job does the rest; 200: nothing left to do.
    return json_reply(lease.state == energy::LeaseState::kReclaimed ? 200 : 202, lease_json(lease));
  }

  energy::LeaseService& leases_;
};

}  // namespace

void add_lease_routes(RouteRegistrar& routes, energy::LeaseService& leases) {
  // Each handler holds a share of the module, so it lives as long as the routes do.
  auto module = std::make_shared<LeaseRoutes>(leases);
  module->register_on(routes, module);
}

json::object lease_json(const energy::Lease& lease) {
  json::value lock_ends = nullptr;
  if (auto end = energy::lock_ends_at(lease)) lock_ends = ms(*end);
  return json::object{
      {"id", lease.id},
      {"status", energy::lease_state_name(lease.state)},
      {"status_reason",
       lease.state_reason.empty() ? json::value(nullptr) : json::value(lease.state_reason)},
      {"quote_id", lease.quote_id ? json::value(*lease.quote_id) : json::value(nullptr)},
      {"receiver", lease.receiver.to_base58()},
      {"receiver_hex", lease.receiver.to_hex()},
      {"energy", lease.energy.value()},
      {"duration_s", lease.duration_s},
      {"stake_sun", lease.stake_sun.value()},
      {"price", price_json(lease.price)},
      {"lock", lease.lock},
      {"lock_period_blocks", lease.lock_period_blocks},
      {"lock_ends_at", std::move(lock_ends)},
      {"delegated_at", ms_or_null(lease.delegated_at)},
      {"expires_at", ms_or_null(lease.expires_at)},
      {"reclaim_requested_at", ms_or_null(lease.reclaim_requested_at)},
      {"refund_sun", lease.refund_sun.value()},
      {"reclaimed_at", ms_or_null(lease.reclaimed_at)},
      {"group_id", energy::group_of(lease)},
      {"split_parts", lease.split_parts},
      {"created_at", ms(lease.created_at)},
      {"updated_at", ms(lease.updated_at)}};
}

json::object lease_chain_tx_json(const energy::ChainTxRecord& record) {
  json::value block = nullptr;
  if (record.inclusion) {
    block = json::object{{"number", record.inclusion->block_number},
                         {"time", record.inclusion->block_time_ms},
                         {"fee_sun", record.inclusion->fee_sun}};
  }
  return json::object{{"txid", common::to_hex(record.txid)},
                      {"purpose", record.purpose},
                      {"state", energy::chain_tx_state_name(record.state)},
                      {"block", std::move(block)},
                      {"broadcast_attempts", record.broadcast_attempts},
                      {"error_code", record.error_code.empty() ? json::value(nullptr)
                                                               : json::value(record.error_code)},
                      {"created_at", ms(record.created_at)}};
}

}  // namespace relay::api
