// tronrelayctl: the operator's command line for tronrelay.
#include <iostream>

#include "daemon/ctl_commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return relay::daemon::run_ctl(args, std::cin, std::cout, std::cerr);
}
