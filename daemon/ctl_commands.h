// The subcommands of tronrelayctl, as functions from arguments and streams to an exit code, so
// tests run them in-process. Exit codes: 0 success, 2 invalid input or usage (one line on stderr).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace relay::daemon {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitInvalid = 2;

// `args` excludes the program name.
int run_ctl(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
            std::ostream& err);

}  // namespace relay::daemon
