#include "store/pg_error.h"

#include <pqxx/except>

namespace relay::store {

std::string sqlstate_of(const std::exception& e) {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) return sql->sqlstate();
  return "";
}

bool is_connection_failure(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return true;
  const std::string state = sqlstate_of(e);
  // Class 08: connection exception. 57P01-57P03: the server is shutting down or starting up.
  // 53300: too many connections.
  return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03" ||
         state == "53300";
}

common::Error pg_error(const std::exception& e) {
  std::string message = e.what();
  if (size_t newline = message.find('\n'); newline != std::string::npos) message.resize(newline);
  const std::string state = sqlstate_of(e);
  if (is_connection_failure(e)) {
    return common::make_error("store_unavailable", "database unavailable: " + message);
  }
  return common::make_error("internal",
                            "database error" + (state.empty() ? "" : " " + state) + ": " + message);
}

}  // namespace relay::store
