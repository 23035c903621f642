#include "common/fault_point.h"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string>

namespace relay::common {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// write(2) straight to the descriptor: stdio buffers are exactly what a kill would lose.
void write_stderr(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

FaultPlan& process_plan() {
  // Read once; a function-local static is initialized thread-safely by the first caller.
  static FaultPlan plan = [] {
    const char* spec = std::getenv(kFaultEnv);
    if (spec == nullptr || *spec == '\0') return FaultPlan();
    std::vector<std::string> rejected;
    FaultPlan parsed = FaultPlan::parse(spec, &rejected);
    for (const auto& entry : rejected) {
      write_stderr(std::string(kFaultEnv) + ": ignoring '" + entry +
                   "' (expected name or name@N with N >= 1)\n");
    }
    return parsed;
  }();
  return plan;
}

}  // namespace

FaultPlan FaultPlan::parse(std::string_view spec, std::vector<std::string>* rejected) {
  FaultPlan plan;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    std::string_view item = trim(spec.substr(0, comma));
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (item.empty()) continue;
    auto entry = std::make_unique<Entry>();
    const size_t at = item.find('@');
    entry->name = std::string(trim(item.substr(0, at)));
    if (at != std::string_view::npos) {
      const std::string_view count = trim(item.substr(at + 1));
      int64_t n = 0;
      auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
      if (ec != std::errc() || end != count.data() + count.size() || n < 1) entry->name.clear();
      entry->fire_at = n;
    }
    if (entry->name.empty()) {
      if (rejected != nullptr) rejected->emplace_back(item);
      continue;
    }
    plan.entries_.push_back(std::move(entry));
  }
  return plan;
}

bool FaultPlan::hit(std::string_view name) {
  bool fire = false;
  for (auto& entry : entries_) {
    if (entry->name != name) continue;
    // The same point may be listed twice (a@1,a@3): every entry counts its own hits.
    if (entry->hits.fetch_add(1, std::memory_order_relaxed) + 1 == entry->fire_at) fire = true;
  }
  return fire;
}

void die_at_fault(std::string_view name) {
  write_stderr("fault point " + std::string(name) + " hit\n");
  ::_exit(kFaultExitCode);
}

void fault_point(std::string_view name) {
  FaultPlan& plan = process_plan();
  if (plan.empty()) return;
  if (plan.hit(name)) die_at_fault(name);
}

}  // namespace relay::common
