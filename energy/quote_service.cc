#include "energy/quote_service.h"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <utility>

#include "chain/abi.h"
#include "common/bytes.h"

namespace relay::energy {
namespace {

using common::make_error;
using common::Result;

// Collisions of 64 random bits are not expected at all; a few tries only guard against a broken
// random source looping forever.
constexpr int kIdAttempts = 4;

Result<std::string> random_quote_id() {
  std::array<uint8_t, 8> random{};
  if (getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
    return make_error("internal", "no randomness available for a quote id");
  }
  return "q_" + common::to_hex(random);
}

common::Status check_request_shape(const PricingConfig& config, const QuoteRequest& request) {
  if (request.energy.has_value() == request.usdt_transfer.has_value()) {
    return make_error("invalid_request", "give exactly one of energy and usdt_transfer");
  }
  // Cheap refusals before any chain read.
  RELAY_TRY_STATUS(unit_price_for(config, request.duration_s));
  if (request.energy) {
    if (request.energy->value() < 1) {
      return make_error("invalid_request",
                        "energy must be positive, got " + request.energy->to_string());
    }
    if (request.energy->value() < config.min_energy) {
      return make_error("energy_below_minimum", "the minimum order is " +
                                                    std::to_string(config.min_energy) +
                                                    " energy, got " + request.energy->to_string());
    }
  }
  if (request.usdt_transfer && request.usdt_transfer->amount < 1) {
    return make_error("invalid_request", "usdt_transfer.amount must be at least 1");
  }
  return {};
}

}  // namespace

QuoteService::QuoteService(QuoteRepository& quotes, PoolCapacityRepository& capacity,
                           chain::TronNode& node, const common::Clock& clock, PricingConfig config)
    : quotes_(quotes),
      capacity_(capacity),
      node_(node),
      clock_(clock),
      config_(std::make_shared<const PricingConfig>(std::move(config))) {
  assert(validate_pricing(*config_).ok());
}

common::Status QuoteService::set_config(PricingConfig config) {
  RELAY_TRY_STATUS(validate_pricing(config));
  auto fresh = std::make_shared<const PricingConfig>(std::move(config));
  std::lock_guard lock(mutex_);
  config_ = std::move(fresh);
  return {};
}

PricingConfig QuoteService::config() const {
  std::lock_guard lock(mutex_);
  return *config_;
}

Result<chain::ChainParameters> QuoteService::parameters() {
  const common::TimePoint now = clock_.now();
  {
    std::lock_guard lock(mutex_);
    if (parameters_ && now - parameters_read_at_ < kParametersMaxAge) return *parameters_;
  }
  // Read outside the lock: concurrent quotes at the refresh may each read once; harmless.
  auto fresh = node_.chain_parameters();
  std::lock_guard lock(mutex_);
  if (!fresh.ok()) {
    if (parameters_) return *parameters_;
    return fresh.error();
  }
  parameters_ = *fresh;
  parameters_read_at_ = now;
  return *parameters_;
}

Result<Quote> QuoteService::create(int64_t tenant_id, const QuoteRequest& request) {
  std::shared_ptr<const PricingConfig> config_ptr;
  {
    std::lock_guard lock(mutex_);
    config_ptr = config_;
  }
  const PricingConfig& config = *config_ptr;
  RELAY_TRY_STATUS(check_request_shape(config, request));

  RELAY_ASSIGN_OR_RETURN(auto account, node_.account(request.receiver));
  if (account && account->is_contract) {
    return make_error("account_is_contract",
                      request.receiver.to_base58() +
                          " is a contract: the chain does not delegate resources to contracts");
  }
  const bool activation_required = !account.has_value();
  if (activation_required && !config.quote_inactive_receivers) {
    return make_error("account_not_found", request.receiver.to_base58() +
                                               " is not activated on chain (send it TRX first)");
  }
  // getaccountresource answers {} for an account that does not exist: the totals then come from
  // an account that always does.
  RELAY_ASSIGN_OR_RETURN(
      chain::AccountResources resources,
      node_.account_resources(activation_required ? config.usdt_contract : request.receiver));

  Quote quote;
  quote.tenant_id = tenant_id;
  quote.receiver = request.receiver;
  quote.duration_s = request.duration_s;
  quote.activation_required = activation_required;
  quote.total_energy_limit = resources.total_energy_limit;
  quote.total_energy_weight = resources.total_energy_weight;

  if (request.energy) {
    quote.energy = *request.energy;
  } else {
    const UsdtTransferIntent& intent = *request.usdt_transfer;
    common::Bytes data = chain::encode_trc20_transfer(
        intent.to, chain::Uint256::from_u64(static_cast<uint64_t>(intent.amount)));
    RELAY_ASSIGN_OR_RETURN(chain::EnergyEstimate estimate,
                           node_.estimate_energy(request.receiver, config.usdt_contract, data));
    if (!estimate.success) {
      return make_error("estimate_reverted",
                        "a transfer of " + std::to_string(intent.amount) + " from " +
                            request.receiver.to_base58() + " to " + intent.to.to_base58() +
                            " would revert (" +
                            (estimate.message.empty() ? "no reason given" : estimate.message) +
                            "); quote an explicit energy instead");
    }
    UsdtTransferEstimate used;
    used.to = intent.to;
    used.amount = intent.amount;
    used.energy_required = std::max<int64_t>(estimate.energy_used, 0);
    if (!activation_required) {
      used.receiver_available =
          std::max<int64_t>(resources.energy_limit - resources.energy_used, 0);
    }
    // What the receiver already has is not sold again; small needs round up to the minimum order.
    quote.energy =
        common::Energy(std::max(used.energy_required - used.receiver_available, config.min_energy));
    quote.usdt_transfer = used;
  }

  RELAY_ASSIGN_OR_RETURN(quote.stake_sun,
                         stake_for_energy(quote.energy, resources.total_energy_limit,
                                          resources.total_energy_weight, config.stake_margin_bps));
  RELAY_ASSIGN_OR_RETURN(chain::ChainParameters params, parameters());
  RELAY_ASSIGN_OR_RETURN(quote.price, price(config, quote.energy, request.duration_s,
                                            activation_required, chain_fees(config, params)));
  RELAY_ASSIGN_OR_RETURN(int64_t largest_free, capacity_.max_free_sun());
  quote.fillable = largest_free >= quote.stake_sun.value();

  quote.created_at = clock_.now();
  quote.expires_at = quote.created_at + std::chrono::seconds(config.quote_ttl_s);
  RELAY_TRY_STATUS(insert_with_fresh_id(quote));
  return quote;
}

common::Status QuoteService::insert_with_fresh_id(Quote& quote) {
  for (int attempt = 1;; ++attempt) {
    RELAY_ASSIGN_OR_RETURN(quote.id, random_quote_id());
    auto inserted = quotes_.insert(quote);
    if (inserted.ok() || inserted.error().code != "conflict" || attempt == kIdAttempts) {
      return inserted;
    }
  }
}

Result<QuoteView> QuoteService::get(int64_t tenant_id, const std::string& id) {
  if (!is_quote_id(id)) return make_error("not_found", "no quote '" + id + "'");
  RELAY_ASSIGN_OR_RETURN(auto found, quotes_.find(id, tenant_id));
  if (!found) return make_error("not_found", "no quote '" + id + "'");
  QuoteView view{.quote = std::move(*found), .state = QuoteState::kOpen};
  view.state = quote_state(view.quote, clock_.now());
  return view;
}

Result<Quote> QuoteService::use(int64_t tenant_id, const std::string& id,
                                const std::string& reference) {
  if (!is_quote_id(id)) return make_error("not_found", "no quote '" + id + "'");
  return quotes_.mark_used(id, tenant_id, reference, clock_.now());
}

}  // namespace relay::energy
