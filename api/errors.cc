#include "api/errors.h"

#include <boost/json.hpp>

#include "common/json.h"

namespace relay::api {
namespace {

struct ErrorMapping {
  std::string_view code;         // Error::code as produced anywhere below the API
  int status;                    // HTTP status
  std::string_view public_code;  // what the client reads in error.code
  bool is_reason;                // the internal code is the 422 `reason`
};

// The table. 4xx messages are written for the caller and pass through; 5xx get a fixed text.
constexpr ErrorMapping kErrorTable[] = {
    {"invalid_request", 400, "invalid_request", false},
    {"invalid_json", 400, "invalid_request", false},
    {"invalid_amount", 400, "invalid_request", false},
    {"invalid_address", 400, "invalid_request", false},
    {"invalid_hex", 400, "invalid_request", false},
    {"invalid_length", 400, "invalid_request", false},
    {"bad_checksum", 400, "invalid_request", false},
    {"invalid_transaction", 400, "invalid_request", false},
    {"invalid_protobuf", 400, "invalid_request", false},
    {"unsupported_contract", 400, "invalid_request", false},
    {"arithmetic_overflow", 400, "invalid_request", false},
    {"unauthorized", 401, "unauthorized", false},
    {"insufficient_balance", 402, "insufficient_balance", false},
    {"forbidden", 403, "forbidden", false},
    {"not_found", 404, "not_found", false},
    {"method_not_allowed", 405, "method_not_allowed", false},
    {"cost_limit_exceeded", 409, "cost_limit_exceeded", false},
    {"insufficient_capacity", 409, "insufficient_capacity", false},
    {"conflict", 409, "conflict", false},
    {"payload_too_large", 413, "payload_too_large", false},
    {"header_too_large", 431, "invalid_request", false},
    {"verification_failed", 422, "verification_failed", false},
    {"tx_expired", 422, "verification_failed", true},
    {"bad_signature", 422, "verification_failed", true},
    {"energy_below_minimum", 422, "verification_failed", true},
    {"fee_limit_too_low", 422, "verification_failed", true},
    {"idempotency_key_reused", 422, "verification_failed", true},
    // Pools: facts on chain that refuse a step of onboarding or staking.
    {"account_not_found", 422, "verification_failed", true},
    {"account_is_contract", 422, "verification_failed", true},
    {"owner_key_missing", 422, "verification_failed", true},
    {"permission_already_granted", 422, "verification_failed", true},
    {"permission_slots_full", 422, "verification_failed", true},
    {"fee_unpayable", 422, "verification_failed", true},
    {"tx_mismatch", 422, "verification_failed", true},
    {"not_signed_by_owner", 422, "verification_failed", true},
    {"broadcast_rejected", 422, "verification_failed", true},
    {"not_confirmed", 422, "verification_failed", true},
    {"permission_tx_failed", 422, "verification_failed", true},
    {"no_compatible_permission", 422, "verification_failed", true},
    // Quotes: a usdt_transfer intent the chain says would revert has no energy figure.
    {"estimate_reverted", 422, "verification_failed", true},
    {"rate_limit_exceeded", 429, "rate_limit_exceeded", false},
    {"upstream_failed", 502, "upstream_failed", false},
    {"unavailable", 503, "unavailable", false},
    {"store_unavailable", 503, "unavailable", false},
    {"chain_unavailable", 503, "unavailable", false},
};

std::string_view fixed_message(int status) {
  switch (status) {
    case 502:
      return "an upstream service failed; retry later";
    case 503:
      return "service unavailable; retry later";
    default:
      return "internal error";
  }
}

}  // namespace

PublicError to_public_error(const common::Error& error) {
  for (const ErrorMapping& mapping : kErrorTable) {
    if (mapping.code != error.code) continue;
    PublicError out;
    out.status = mapping.status;
    out.code = std::string(mapping.public_code);
    out.message =
        mapping.status >= 500 ? std::string(fixed_message(mapping.status)) : error.message;
    if (mapping.is_reason) out.reason = std::string(mapping.code);
    return out;
  }
  return PublicError{.status = 500,
                     .code = "internal",
                     .message = std::string(fixed_message(500)),
                     .reason = std::nullopt};
}

common::HttpResponse error_response(const common::Error& error, std::string_view request_id) {
  PublicError mapped = to_public_error(error);
  boost::json::object body{
      {"code", mapped.code}, {"message", mapped.message}, {"request_id", request_id}};
  if (mapped.reason) body["reason"] = *mapped.reason;
  common::HttpResponse response{
      .status = mapped.status,
      .content_type = "application/json",
      .body = common::json_to_string(boost::json::object{{"error", std::move(body)}})};
  // RFC 6750 §3: a 401 names the scheme the client should use.
  if (mapped.status == 401) response.headers.set("WWW-Authenticate", "Bearer");
  return response;
}

common::HttpResponse render_server_error(int /*status*/, const common::Error& error,
                                         std::string_view request_id) {
  // The server's codes are all in the table, which gives the same statuses the server chose.
  return error_response(error, request_id);
}

}  // namespace relay::api
