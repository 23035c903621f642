// run_disabled_test_in_child: re-runs one DISABLED_ test of this test binary in a fresh process
// (exec, so everything read once per process — TRONRELAY_FAULT — is read again) with `env` added to
// this process's environment, and returns its wait status. The crash tests use it to play a daemon
// that dies at a fault point while the parent plays the restarted one.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace relay::testing {

// `test` is "Suite.DISABLED_Name". The child's stdout (gtest's chatter) goes to /dev/null; its
// stderr stays, for "fault point … hit". -1 when it cannot be started.
inline int run_disabled_test_in_child(const std::string& test,
                                      const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string var = *e;
    bool replaced = false;
    for (const auto& [key, value] : env) replaced |= var.starts_with(key + "=");
    if (!replaced) vars.push_back(var);
  }
  for (const auto& [key, value] : env) vars.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  std::string self = "/proc/self/exe";
  std::string filter = "--gtest_filter=" + test;
  std::string disabled = "--gtest_also_run_disabled_tests";
  std::vector<char*> argv = {self.data(), filter.data(), disabled.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

}  // namespace relay::testing
