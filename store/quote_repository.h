// PostgreSQL implementation of energy's QuoteRepository (table quotes, migration 0005). A quote is
// taken by one conditional UPDATE, so of any number of racing leases exactly one takes it; the
// table's trigger refuses every other change to a written quote.
#pragma once

#include "energy/quote.h"
#include "store/database.h"

namespace relay::store {

// Errors besides the port's: "internal" for a quote the table's checks refuse (an id of another
// shape, a total that is not the sum of its parts, expires_at not after created_at): QuoteService
// never writes one, so it is a bug.
class PgQuoteRepository final : public energy::QuoteRepository {
 public:
  explicit PgQuoteRepository(Database& db) : db_(db) {}

  common::Status insert(const energy::Quote& quote) override;
  common::Result<std::optional<energy::Quote>> find(const std::string& id,
                                                    int64_t tenant_id) override;
  common::Result<energy::Quote> mark_used(const std::string& id, int64_t tenant_id,
                                          const std::string& reference,
                                          common::TimePoint now) override;
  // Oldest expiry first.
  common::Result<int64_t> delete_expired(common::TimePoint before, int64_t limit) override;

 private:
  Database& db_;
};

}  // namespace relay::store
