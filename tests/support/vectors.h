// Access to shared/tron/vectors.json for tests: the normative bytes every encoder must reproduce.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "common/bytes.h"
#include "common/json.h"

namespace relay::testing {

inline const boost::json::object& vectors() {
  static const boost::json::object doc = [] {
    std::ifstream file(TRON_VECTORS_PATH);
    if (!file) throw std::runtime_error("cannot open " + std::string(TRON_VECTORS_PATH));
    std::stringstream text;
    text << file.rdbuf();
    auto parsed = common::parse_json_object(text.str());
    if (!parsed.ok()) throw std::runtime_error("vectors.json: " + parsed.error().message);
    return *parsed;
  }();
  return doc;
}

inline const boost::json::object& vector_by_id(const std::string& id) {
  for (const char* section : {"generated", "derived", "external"}) {
    for (const auto& v : vectors().at(section).as_array()) {
      if (v.at("id").as_string() == id) return v.as_object();
    }
  }
  throw std::runtime_error("no vector " + id);
}

inline const boost::json::object& key_by_id(const std::string& id) {
  return vectors().at("keys").at(id).as_object();
}

inline std::string str(const boost::json::value& v) { return std::string(v.as_string()); }

inline common::Bytes unhex(const boost::json::value& v) {
  auto bytes = common::from_hex(v.as_string());
  if (!bytes.ok()) throw std::runtime_error("bad hex in vectors: " + bytes.error().message);
  return *bytes;
}

}  // namespace relay::testing
