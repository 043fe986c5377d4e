// Runs one test of this same binary in another process: a fresh exec, not a
// bare fork (a forked child of a process whose pool threads hold locks can
// hang on them). Everything the child needs is built before the fork.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace anyfs::testing {

// Starts `program --gtest_filter=FILTER` (a DISABLED_ test allowed) with one
// environment entry "NAME=VALUE"; returns the child's pid.
inline pid_t start_self(const char* program, const std::string& filter, std::string env) {
  std::string filter_arg = "--gtest_filter=" + filter;
  char* envp[] = {env.data(), nullptr};
  pid_t child = fork();
  if (child == 0) {
    execle("/proc/self/exe", program, filter_arg.c_str(), "--gtest_also_run_disabled_tests",
           static_cast<char*>(nullptr), envp);
    _exit(127);
  }
  return child;
}

// Waits for a child started by start_self; true if its tests passed.
inline bool passed(pid_t child) {
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace anyfs::testing
