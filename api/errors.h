// The one table from an internal Error::code to what an API client sees: the HTTP status, the
// public code and, for 422, the reason (DESIGN.md §5). Every reply of the API that is an error goes
// through here, so that a code means the same status everywhere and unknown failures never leak.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/http_server.h"
#include "common/result.h"

namespace relay::api {

struct PublicError {
  int status = 500;
  std::string code;     // "invalid_request", "not_found", …
  std::string message;  // safe to show: the caller's own mistake, or a fixed text for 5xx
  std::optional<std::string> reason;  // for 422 verification_failed: "tx_expired", …
};

// Codes missing from the table become 500 "internal" with a fixed message; so do 5xx codes, whose
// messages could name hosts, SQL or upstream URLs.
PublicError to_public_error(const common::Error& error);

// {"error":{"code","message","request_id"[,"reason"]}} with the table's status; 401 adds
// `WWW-Authenticate: Bearer`.
common::HttpResponse error_response(const common::Error& error, std::string_view request_id);

// For common::HttpServer::Options::error_renderer: the server's own 400/413/431/500/503 replies in
// the API's error shape.
common::HttpResponse render_server_error(int status, const common::Error& error,
                                         std::string_view request_id);

}  // namespace relay::api
