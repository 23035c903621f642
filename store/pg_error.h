// How the store reports a failure of PostgreSQL or libpqxx: every exception they throw is caught at
// the store boundary and becomes an Error, "store_unavailable" when the server cannot be reached
// (the caller may retry later; the API answers 503) and "internal" for anything else.
#pragma once

#include <exception>
#include <string>

#include "common/result.h"

namespace relay::store {

// The SQLSTATE of a libpqxx sql_error ("23505", …), or "" for any other exception.
std::string sqlstate_of(const std::exception& e);

// True for failures of the connection rather than of a statement: refused, dropped, server shutting
// down, too many connections.
bool is_connection_failure(const std::exception& e);

// The Error for an exception thrown while talking to PostgreSQL. The message is the server's first
// line; statements never carry secrets (values travel as parameters), so it is safe to log.
common::Error pg_error(const std::exception& e);

}  // namespace relay::store
