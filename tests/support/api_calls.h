// In-process calls to an api::ApiServer, built as the HTTP layer builds requests, readers of its
// JSON answers, and the services every API test starts from: the helpers the API tests share.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "api/server.h"
#include "common/http_server.h"
#include "common/json.h"
#include "energy/api_keys.h"
#include "tests/support/fake_store.h"

namespace relay::testing {

// The services every API test starts from — FakeStore's repositories, a key service, a clock and
// the two health probes; a test adds the optional services (pools, quotes, leases) it exercises.
inline api::ApiServices core_services(FakeStore& store, energy::ApiKeyService& key_service,
                                      const common::Clock& clock, api::HealthProbe& database,
                                      api::HealthProbe& chain) {
  return api::ApiServices{.tenants = store.tenants,
                          .keys = store.keys,
                          .ledger = store.ledger,
                          .idempotency = store.idempotency,
                          .audit = store.audit,
                          .key_service = key_service,
                          .clock = clock,
                          .database = database,
                          .chain = chain};
}

// `path` may carry a query ("/v1/leases?status=active"); `key` goes in as a Bearer token, and
// `idempotency_key`, when not empty, as Idempotency-Key.
inline common::HttpResponse call_api(api::ApiServer& server, const std::string& method,
                                     const std::string& path, const std::string& body,
                                     const std::string& key,
                                     const std::string& idempotency_key = "") {
  common::HttpRequest request{.method = method, .path = path, .query = "", .body = body};
  if (auto question = path.find('?'); question != std::string::npos) {
    request.path = path.substr(0, question);
    request.query = path.substr(question + 1);
  }
  request.headers.add("Authorization", "Bearer " + key);
  if (!idempotency_key.empty()) request.headers.add("Idempotency-Key", idempotency_key);
  request.request_id = "req_0000000000000001";
  request.remote_address = "127.0.0.1";
  return server.handle(request);
}

// The answer's JSON object (a test failure, and an empty object, when it is not one).
inline boost::json::object body_of(const common::HttpResponse& response) {
  auto parsed = common::parse_json_object(response.body);
  EXPECT_TRUE(parsed.ok()) << response.body;
  return parsed.ok() ? *parsed : boost::json::object{};
}

// The error's "code" or "code/reason"; "<none>" for an answer without an error.
inline std::string code_of(const common::HttpResponse& response) {
  auto body = body_of(response);
  if (!body.contains("error")) return "<none>";
  auto& error = body.at("error").as_object();
  std::string code(error.at("code").as_string());
  if (error.contains("reason")) code += "/" + std::string(error.at("reason").as_string());
  return code;
}

}  // namespace relay::testing
