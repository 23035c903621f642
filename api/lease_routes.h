// The lease routes of DESIGN.md §5 (scope `lease`): POST /v1/leases, GET /v1/leases,
// GET /v1/leases/{id} (with its chain txs) and POST /v1/leases/{id}/reclaim, JSON in and out
// around energy::LeaseService, which holds the rules. Energy, sun, blocks and durations are JSON
// integers (decimal strings accepted on input, never fractions); times are Unix milliseconds;
// addresses are accepted as Base58 or 41-hex. A tenant sees only its own leases (404 otherwise).
//
// POST /v1/leases answers 201 with the lease active, or 202 with it delegating when its block did
// not come in time (poll GET /v1/leases/{id}). Send an Idempotency-Key: a retry with the same key
// and body returns the first reply instead of leasing twice.
#pragma once

#include "api/handler_support.h"
#include "energy/chain_tx_journal.h"
#include "energy/lease.h"
#include "energy/lease_service.h"

namespace relay::api {

void add_lease_routes(RouteRegistrar& routes, energy::LeaseService& leases);

// A lease as the API shows it.
boost::json::object lease_json(const energy::Lease& lease);
// One of a lease's chain txs, as GET /v1/leases/{id} lists them.
boost::json::object lease_chain_tx_json(const energy::ChainTxRecord& record);

}  // namespace relay::api
