// The pool routes of DESIGN.md §5 (scope `pools`) and GET /v1/admin/attention (scope `operator`):
// JSON in and out around energy::PoolService, which holds the rules. Amounts are integers in sun
// (or decimal strings on input); addresses are accepted as Base58 or 41-hex and returned as both.
#pragma once

#include "api/handler_support.h"
#include "energy/jobs.h"
#include "energy/pool.h"
#include "energy/pool_service.h"

namespace relay::api {

// `jobs` (optional) adds the dead jobs to GET /v1/admin/attention.
void add_pool_routes(RouteRegistrar& routes, energy::PoolService& pools,
                     energy::PoolRepository& pool_store, energy::JobQueue* jobs = nullptr);

// A pool as the API shows it (also used by tests and tronrelayctl output).
boost::json::object pool_json(const energy::Pool& pool);

}  // namespace relay::api
