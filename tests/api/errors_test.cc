#include "api/errors.h"

#include <gtest/gtest.h>

#include "common/json.h"

namespace relay::api {
namespace {

struct Row {
  const char* code;
  int status;
  const char* public_code;
};

TEST(ErrorTableTest, MapsEveryDesignCodeToItsStatus) {
  const Row rows[] = {
      {"invalid_request", 400, "invalid_request"},
      {"invalid_json", 400, "invalid_request"},
      {"unauthorized", 401, "unauthorized"},
      {"insufficient_balance", 402, "insufficient_balance"},
      {"forbidden", 403, "forbidden"},
      {"not_found", 404, "not_found"},
      {"method_not_allowed", 405, "method_not_allowed"},
      {"cost_limit_exceeded", 409, "cost_limit_exceeded"},
      {"insufficient_capacity", 409, "insufficient_capacity"},
      {"conflict", 409, "conflict"},
      {"payload_too_large", 413, "payload_too_large"},
      {"verification_failed", 422, "verification_failed"},
      {"rate_limit_exceeded", 429, "rate_limit_exceeded"},
      {"header_too_large", 431, "invalid_request"},
      {"upstream_failed", 502, "upstream_failed"},
      {"unavailable", 503, "unavailable"},
      {"store_unavailable", 503, "unavailable"},
  };
  for (const Row& row : rows) {
    PublicError mapped = to_public_error(common::make_error(row.code, "m"));
    EXPECT_EQ(mapped.status, row.status) << row.code;
    EXPECT_EQ(mapped.code, row.public_code) << row.code;
    EXPECT_FALSE(mapped.reason.has_value()) << row.code;
  }
}

TEST(ErrorTableTest, VerificationReasonsAre422WithTheReason) {
  for (const char* reason : {"tx_expired", "bad_signature", "energy_below_minimum",
                             "fee_limit_too_low", "idempotency_key_reused"}) {
    PublicError mapped = to_public_error(common::make_error(reason, "why"));
    EXPECT_EQ(mapped.status, 422) << reason;
    EXPECT_EQ(mapped.code, "verification_failed");
    EXPECT_EQ(mapped.reason, reason);
    EXPECT_EQ(mapped.message, "why");
  }
}

TEST(ErrorTableTest, ClientErrorsKeepTheirMessageServerErrorsDoNot) {
  EXPECT_EQ(to_public_error(common::make_error("not_found", "no tenant 7")).message, "no tenant 7");
  for (const char* code : {"upstream_failed", "unavailable", "store_unavailable"}) {
    PublicError mapped =
        to_public_error(common::make_error(code, "connect to 10.0.0.5:5432 failed, key=abc"));
    EXPECT_EQ(mapped.message.find("10.0.0.5"), std::string::npos) << code;
  }
}

TEST(ErrorTableTest, UnknownCodesAre500InternalWithoutTheMessage) {
  for (const char* code : {"internal", "listen_failed", "sign_failed", "", "whatever"}) {
    PublicError mapped = to_public_error(common::make_error(code, "database error 42P01: secret"));
    EXPECT_EQ(mapped.status, 500) << code;
    EXPECT_EQ(mapped.code, "internal");
    EXPECT_EQ(mapped.message, "internal error");
  }
}

TEST(ErrorTableTest, ResponseBodyHasCodeMessageRequestIdAndReason) {
  auto response = error_response(common::make_error("bad_signature", "signer mismatch"), "req_1");
  EXPECT_EQ(response.status, 422);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"error":{"code":"verification_failed","message":"signer mismatch",)"
                           R"("request_id":"req_1","reason":"bad_signature"}})");

  auto plain = error_response(common::make_error("conflict", "busy"), "req_2");
  EXPECT_EQ(plain.body, R"({"error":{"code":"conflict","message":"busy","request_id":"req_2"}})");
  EXPECT_TRUE(plain.headers.empty());
}

TEST(ErrorTableTest, UnauthorizedNamesTheBearerScheme) {
  auto response = error_response(common::make_error("unauthorized", "no key"), "req_3");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.headers.find("WWW-Authenticate"), "Bearer");
}

TEST(ErrorTableTest, ServerRepliesUseTheSameShape) {
  auto response =
      render_server_error(413, common::make_error("payload_too_large", "too big"), "req_4");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.body,
            R"({"error":{"code":"payload_too_large","message":"too big","request_id":"req_4"}})");
  EXPECT_EQ(render_server_error(503, common::make_error("unavailable", "x"), "r").status, 503);
  EXPECT_EQ(render_server_error(500, common::make_error("internal", "x"), "r").status, 500);
  EXPECT_EQ(render_server_error(400, common::make_error("invalid_request", "x"), "r").status, 400);
}

}  // namespace
}  // namespace relay::api
