// Fault points: named places where a crash test can make the process die as if it were killed
// (power cut, SIGKILL, OOM killer), to prove that what was written before that instant is enough
// to recover. Armed only by the environment: TRONRELAY_FAULT=<point>[@N][,<point>[@N]…] — the
// process dies at the N-th time (default: the first) a named point is reached. The variable is
// read once, at the first point reached; unset, a point costs one predictable branch.
//
// Dying is _exit(kFaultExitCode) after one line on stderr ("fault point <name> hit"): no
// destructors, no atexit handlers, no stdio or log flush, no COMMIT — what is durable is only what
// was durable before the point. The exit code lets a test tell "died where told" from a real crash.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace relay::common {

inline constexpr const char* kFaultEnv = "TRONRELAY_FAULT";
inline constexpr int kFaultExitCode = 86;

// Which points fire, and a hit counter per point. Thread-safe: hits are counted atomically, so with
// "name@N" exactly one caller sees the N-th hit.
class FaultPlan {
 public:
  // Parses the TRONRELAY_FAULT syntax. Blanks around names are ignored; an entry with a count that
  // is not a positive integer is dropped and named in `rejected` (a typo must not arm a wrong
  // point, nor silently arm nothing: the process prints it on stderr).
  static FaultPlan parse(std::string_view spec, std::vector<std::string>* rejected = nullptr);

  FaultPlan() = default;
  FaultPlan(FaultPlan&&) = default;
  FaultPlan& operator=(FaultPlan&&) = default;

  bool empty() const { return entries_.empty(); }
  // Counts a hit of `name` and says whether this is the hit to die at.
  bool hit(std::string_view name);

 private:
  struct Entry {
    std::string name;
    int64_t fire_at = 1;
    std::atomic<int64_t> hits{0};
  };
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Dies now, as described above. For fault points only.
[[noreturn]] void die_at_fault(std::string_view name);

// The process-wide plan from TRONRELAY_FAULT; dies when it says this hit of `name` is the one.
void fault_point(std::string_view name);

}  // namespace relay::common

// Marks a crash-test point: RELAY_FAULT_POINT("after_write_ahead");
#define RELAY_FAULT_POINT(name) ::relay::common::fault_point(name)
