// The quote routes of DESIGN.md §5 (scope `quote`): POST /v1/quote and GET /v1/quote/{id}, JSON in
// and out around energy::QuoteService, which holds the rules. Energy, sun and durations are JSON
// integers (decimal strings accepted on input, never fractions); times are Unix milliseconds.
#pragma once

#include "api/handler_support.h"
#include "energy/quote.h"
#include "energy/quote_service.h"

namespace relay::api {

void add_quote_routes(RouteRegistrar& routes, energy::QuoteService& quotes);

// A quote as the API shows it, with its state at the time of the reply.
boost::json::object quote_json(const energy::Quote& quote, energy::QuoteState state);

}  // namespace relay::api
