#include "api/pool_routes.h"

#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/json.h"
#include "energy/chain_views.h"

namespace relay::api {
namespace {

namespace json = boost::json;
using common::HttpResponse;
using common::make_error;
using common::Result;

constexpr size_t kMaxNameLength = 200;
constexpr int kAttentionJobs = 100;
// A signed AccountPermissionUpdate with 8 actives of 5 keys is a few KiB; 64 KiB of hex is ample.
constexpr size_t kMaxSignedTxHex = 64 * 1024;

json::value optional_int(const std::optional<int64_t>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

json::object address_json(const common::Address& address) {
  return json::object{{"base58", address.to_base58()}, {"hex", address.to_hex()}};
}

json::object snapshot_json(const energy::PoolSnapshot& snapshot) {
  return json::object{{"observed_at", ms(snapshot.observed_at)},
                      {"balance_sun", snapshot.balance_sun},
                      {"staked_energy_sun", snapshot.staked_energy_sun},
                      {"delegated_out_sun", snapshot.delegated_out_sun},
                      {"delegatable_sun", snapshot.delegatable_sun},
                      {"energy_limit", snapshot.energy_limit},
                      {"energy_available", snapshot.energy_available},
                      {"net_available", snapshot.net_available}};
}

json::object capacity_json(const energy::PoolCapacity& capacity) {
  return json::object{{"delegatable_sun", capacity.delegatable_sun},
                      {"reserved_sun", capacity.reserved_sun},
                      {"free_sun", capacity.free_sun}};
}

json::object broadcast_json(const energy::BroadcastOutcome& outcome) {
  return json::object{{"txid", common::to_hex(outcome.txid)},
                      {"accepted", outcome.result.accepted},
                      {"duplicate", outcome.result.duplicate},
                      {"code", outcome.result.code},
                      {"message", outcome.result.message}};
}

// A signed transaction as hex of the whole Transaction message, or as java-tron JSON
// ({"raw_data":…,"signature":[…]}), which is how TronWeb hands it over.
Result<common::Bytes> signed_transaction(const json::object& body) {
  const json::value* value = body.if_contains("transaction");
  if (value == nullptr) return invalid("transaction: is required");
  if (value->is_string()) {
    const json::string& text = value->as_string();
    if (text.size() > kMaxSignedTxHex) return invalid("transaction: too long");
    auto bytes = common::from_hex(std::string_view(text.data(), text.size()));
    if (!bytes.ok()) return invalid("transaction: " + bytes.error().message);
    return std::move(*bytes);
  }
  if (value->is_object()) {
    return energy::signed_transaction_from_json(value->as_object());
  }
  return invalid("transaction: must be hex of the signed transaction or its JSON");
}

class PoolRoutes {
 public:
  PoolRoutes(energy::PoolService& pools, energy::PoolRepository& store, energy::JobQueue* jobs)
      : pools_(pools), store_(store), jobs_(jobs) {}

  void register_on(RouteRegistrar& routes, const std::shared_ptr<PoolRoutes>& self) {
    auto scoped = [&self](bool takes_body, Result<HttpResponse> (PoolRoutes::*handler)(Call&)) {
      return module_route(self, energy::Scope::kPools, takes_body, handler);
    };
    routes.add("POST", "/v1/pools", scoped(true, &PoolRoutes::create));
    routes.add("GET", "/v1/pools", scoped(false, &PoolRoutes::list));
    routes.add("POST", "/v1/pools/validate-address", scoped(true, &PoolRoutes::validate_address));
    routes.add("GET", "/v1/pools/{id}", scoped(false, &PoolRoutes::view));
    routes.add("PATCH", "/v1/pools/{id}", scoped(true, &PoolRoutes::update));
    routes.add("DELETE", "/v1/pools/{id}", scoped(false, &PoolRoutes::remove));
    routes.add("POST", "/v1/pools/{id}/permission-tx", scoped(false, &PoolRoutes::permission_tx));
    routes.add("POST", "/v1/pools/{id}/broadcast", scoped(true, &PoolRoutes::broadcast));
    routes.add("POST", "/v1/pools/{id}/confirm", scoped(false, &PoolRoutes::confirm));
    routes.add("POST", "/v1/pools/{id}/refresh", scoped(false, &PoolRoutes::refresh));
    routes.add("POST", "/v1/pools/{id}/stake", scoped(true, &PoolRoutes::stake));
    routes.add("POST", "/v1/pools/{id}/unstake", scoped(true, &PoolRoutes::unstake));
    routes.add("GET", "/v1/admin/attention",
               RouteSpec{.access = Access::kScope,
                         .scope = energy::Scope::kOperator,
                         .takes_body = false,
                         .handler = [self](Call& call) { return self->attention(call); }});
  }

 private:
  Result<HttpResponse> create(Call& call) {
    const json::object& body = call.body;
    RELAY_TRY_STATUS(only_fields(body, {"address", "kind", "name", "min_reserve_sun",
                                        "max_delegate_sun", "low_energy_alert"}));
    energy::NewPoolRequest request;
    RELAY_ASSIGN_OR_RETURN(request.address, address_field(body, "address"));
    RELAY_ASSIGN_OR_RETURN(std::string kind, common::json_get_string(body, "kind"));
    auto parsed_kind = energy::pool_kind_from_name(kind);
    if (!parsed_kind) return invalid("kind: must be \"own\" or \"permission\"");
    request.kind = *parsed_kind;
    if (body.contains("name")) {
      RELAY_ASSIGN_OR_RETURN(request.name, bounded_text(body, "name", kMaxNameLength));
    }
    RELAY_ASSIGN_OR_RETURN(auto min_reserve, optional_amount(body, "min_reserve_sun"));
    request.min_reserve_sun = min_reserve.value_or(0);
    RELAY_ASSIGN_OR_RETURN(request.max_delegate_sun, optional_amount(body, "max_delegate_sun"));
    RELAY_ASSIGN_OR_RETURN(request.low_energy_alert, optional_amount(body, "low_energy_alert"));
    RELAY_ASSIGN_OR_RETURN(auto pool, pools_.create(call.tenant_id(), request, call.actor()));
    return json_reply(201, pool_json(pool));
  }

  Result<HttpResponse> list(Call& call) {
    RELAY_ASSIGN_OR_RETURN(auto query, parse_query(call.request.query));
    std::optional<energy::PoolStatus> status;
    for (const auto& [name, value] : query) {
      if (name != "status") return invalid("unknown query parameter '" + name + "' (status)");
      status = energy::pool_status_from_name(value);
      if (!status) return invalid("status: unknown pool status '" + value + "'");
    }
    RELAY_ASSIGN_OR_RETURN(auto pools, pools_.list(call.tenant_id()));
    json::array out;
    for (const auto& pool : pools) {
      if (!status || pool.status == *status) out.push_back(pool_json(pool));
    }
    return json_reply(200, json::object{{"pools", std::move(out)}});
  }

  Result<HttpResponse> validate_address(Call& call) {
    RELAY_TRY_STATUS(only_fields(call.body, {"address"}));
    RELAY_ASSIGN_OR_RETURN(auto address, address_field(call.body, "address"));
    RELAY_ASSIGN_OR_RETURN(auto report, pools_.validate_address(address));
    json::array actives;
    for (const auto& active : report.permissions.actives)
      actives.push_back(energy::permission_view(active));
    json::object out{
        {"address", address_json(report.address)},
        {"exists", report.exists},
        {"is_contract", report.is_contract},
        {"balance_sun", report.balance_sun},
        {"staked_energy_sun", report.staked_energy_sun},
        {"delegatable_sun", report.delegatable_sun},
        {"owner_permission", report.exists
                                 ? json::value(energy::permission_view(report.permissions.owner))
                                 : json::value(nullptr)},
        {"active_permissions", std::move(actives)},
        {"compatible_permission_id", report.compatible_permission_id
                                         ? json::value(*report.compatible_permission_id)
                                         : json::value(nullptr)},
        {"active_count", report.active_count},
        {"can_append_permission", report.can_append_permission},
        {"permission_fee_sun", report.permission_fee_sun},
        {"can_pay_fee", report.can_pay_fee},
        {"registered", report.registered}};
    return json_reply(200, out);
  }

  Result<HttpResponse> view(Call& call) {
    RELAY_ASSIGN_OR_RETURN(int64_t id, path_id(call.params, "id", "pool"));
    RELAY_ASSIGN_OR_RETURN(auto view, pools_.view(call.tenant_id(), id));
    return json_reply(200, view_json(view));
  }

  Result<HttpResponse> update(Call& call) {
    RELAY_ASSIGN_OR_RETURN(int64_t id, path_id(call.params, "id", "pool"));
    const json::object& body = call.body;
    RELAY_TRY_STATUS(only_fields(
        body, {"name", "status", "min_reserve_sun", "max_delegate_sun", "low_energy_alert"}));
    energy::PoolChanges changes;
    if (body.contains("name")) {
      RELAY_ASSIGN_OR_RETURN(changes.name, bounded_text(body, "name", kMaxNameLength));
    }
    if (body.contains("status")) {
      RELAY_ASSIGN_OR_RETURN(std::string status, common::json_get_string(body, "status"));
      if (status != "active" && status != "disabled") {
        return invalid("status: must be \"active\" or \"disabled\"");
      }
      changes.status = energy::pool_status_from_name(status);
    }
    if (body.contains("min_reserve_sun")) {
      RELAY_ASSIGN_OR_RETURN(auto value, optional_amount(body, "min_reserve_sun"));
      if (!value) return invalid("min_reserve_sun: must be an amount (0 for none)");
      changes.min_reserve_sun = value;
    }
    if (body.contains("max_delegate_sun")) {
      RELAY_ASSIGN_OR_RETURN(changes.max_delegate_sun, optional_amount(body, "max_delegate_sun"));
      changes.clear_max_delegate = !changes.max_delegate_sun;
    }
    if (body.contains("low_energy_alert")) {
      RELAY_ASSIGN_OR_RETURN(changes.low_energy_alert, optional_amount(body, "low_energy_alert"));
      changes.clear_low_energy_alert = !changes.low_energy_alert;
    }
    RELAY_ASSIGN_OR_RETURN(auto pool, pools_.update(call.tenant_id(), id, changes, call.actor()));
    return json_reply(200, pool_json(pool));
  }

  Result<HttpResponse> remove(Call& call) {
    RELAY_ASSIGN_OR_RETURN(int64_t id, path_id(call.params, "id", "pool"));
    RELAY_TRY_STATUS(pools_.remove(call.tenant_id(), id, call.actor()));
    return json_reply(200, json::object{{"id", id}, {"status", "deleted"}});
  }

  Result<HttpResponse> permission_tx(Call& call) {
    RELAY_ASSIGN_OR_RETURN(int64_t id, path_id(call.params, "id", "pool"));
    RELAY_ASSIGN_OR_RETURN(auto generated,
                           pools_.permission_tx(call.tenant_id(), id, call.actor()));
    json::object out{{"pool_id", id},
                     {"txid", common::to_hex(generated.txid)},
                     {"raw_data_hex", common::to_hex(generated.tx.raw_bytes())},
                     {"transaction", energy::transaction_view(generated.tx)},
                     {"permission_id", generated.permission_id},
                     {"fee_sun", generated.fee_sun},
                     {"expiration", generated.expiration_ms}};
    return json_reply(200, out);
  }

  Result<HttpResponse> broadcast(Call& call) {
    RELAY_ASSIGN_OR_RETURN(int64_t id, path_id(call.params, "id", "pool"));
    RELAY_TRY_STATUS(only_fields(call.body, {"transaction"}));
    RELAY_ASSIGN_OR_RETURN(auto bytes, signed_transaction(call.body));
    RELAY_ASSIGN_OR_RETURN(
        auto outcome, pools_.broadcast_permission_tx(call.tenant_id(), id, bytes, call.actor()));
    return json_reply(200, broadcast_json(outcome));
  }

  Result<HttpResponse> confirm(Call& call) {
    RELAY_ASSIGN_OR_RETURN(int64_t id, path_id(call.params, "id", "pool"));
    RELAY_ASSIGN_OR_RETURN(auto pool, pools_.confirm(call.tenant_id(), id, call.actor()));
    return json_reply(200, pool_json(pool));
  }

  Result<HttpResponse> refresh(Call& call) {
    RELAY_ASSIGN_OR_RETURN(int64_t id, path_id(call.params, "id", "pool"));
    RELAY_ASSIGN_OR_RETURN(auto outcome, pools_.refresh(id, call.tenant_id()));
    json::object out = pool_json(outcome.pool);
    out["low_energy"] = outcome.low_energy;
    return json_reply(200, out);
  }

  Result<HttpResponse> stake(Call& call) { return stake_or_unstake(call, true); }
  Result<HttpResponse> unstake(Call& call) { return stake_or_unstake(call, false); }

  Result<HttpResponse> stake_or_unstake(Call& call, bool freeze) {
    RELAY_ASSIGN_OR_RETURN(int64_t id, path_id(call.params, "id", "pool"));
    RELAY_TRY_STATUS(only_fields(call.body, {"amount_sun"}));
    RELAY_ASSIGN_OR_RETURN(int64_t amount, common::json_get_int64(call.body, "amount_sun"));
    if (amount <= 0) return invalid("amount_sun: must be positive");
    common::Sun sun(amount);
    RELAY_ASSIGN_OR_RETURN(auto outcome,
                           freeze ? pools_.stake(call.tenant_id(), id, sun, call.actor())
                                  : pools_.unstake(call.tenant_id(), id, sun, call.actor()));
    return json_reply(200, broadcast_json(outcome));
  }

  // What an operator must look at: pools the monitor suspended (and, later, dead jobs).
  Result<HttpResponse> attention(Call&) {
    RELAY_ASSIGN_OR_RETURN(auto all, store_.list(std::nullopt));
    json::array suspended;
    for (const auto& pool : all) {
      if (pool.status != energy::PoolStatus::kSuspended) continue;
      json::object item = pool_json(pool);
      item["tenant_id"] = pool.tenant_id;
      suspended.push_back(std::move(item));
    }
    // Jobs that failed their last attempt (a reclaim that could not be done) need a person.
    json::array dead;
    if (jobs_ != nullptr) {
      RELAY_ASSIGN_OR_RETURN(auto jobs, jobs_->list_dead(kAttentionJobs));
      for (const auto& job : jobs) {
        dead.push_back(json::object{{"id", job.id},
                                    {"kind", job.kind},
                                    {"ref", job.ref},
                                    {"attempts", job.attempts},
                                    {"last_error", job.last_error},
                                    {"due_at", ms(job.due_at)},
                                    {"done_at", ms_or_null(job.done_at)}});
      }
    }
    return json_reply(200, json::object{{"suspended_pools", std::move(suspended)},
                                        {"dead_jobs", std::move(dead)}});
  }

  static json::object view_json(const energy::PoolView& view) {
    json::object out = pool_json(view.pool);
    out["live"] = view.live ? json::value(snapshot_json(*view.live)) : json::value(nullptr);
    out["capacity"] = capacity_json(view.capacity);
    return out;
  }

  energy::PoolService& pools_;
  energy::PoolRepository& store_;
  energy::JobQueue* jobs_;
};

}  // namespace

void add_pool_routes(RouteRegistrar& routes, energy::PoolService& pools,
                     energy::PoolRepository& pool_store, energy::JobQueue* jobs) {
  // Each handler holds a share of the module, so it lives as long as the routes do.
  auto module = std::make_shared<PoolRoutes>(pools, pool_store, jobs);
  module->register_on(routes, module);
}

json::object pool_json(const energy::Pool& pool) {
  json::value permission_tx = nullptr;
  if (pool.permission_txid) {
    permission_tx = json::object{{"txid", common::to_hex(*pool.permission_txid)},
                                 {"broadcast", pool.permission_tx_broadcast}};
  }
  return json::object{
      {"id", pool.id},
      {"address", pool.address.to_base58()},
      {"address_hex", pool.address.to_hex()},
      {"kind", energy::pool_kind_name(pool.kind)},
      {"name", pool.name},
      {"status", energy::pool_status_name(pool.status)},
      {"status_reason",
       pool.status_reason.empty() ? json::value(nullptr) : json::value(pool.status_reason)},
      {"permission_id", pool.permission_id ? json::value(*pool.permission_id) : json::value()},
      {"min_reserve_sun", pool.min_reserve_sun},
      {"max_delegate_sun", optional_int(pool.max_delegate_sun)},
      {"low_energy_alert", optional_int(pool.low_energy_alert)},
      {"permission_tx", std::move(permission_tx)},
      {"snapshot", pool.snapshot ? json::value(snapshot_json(*pool.snapshot)) : json::value()},
      {"created_at", ms(pool.created_at)},
      {"updated_at", ms(pool.updated_at)}};
}

}  // namespace relay::api
