// A benchmark reporter that prints the usual table, then each benchmark's CPU
// time as a ratio of its family's baseline measured in the same run (medians
// when repetitions are on). Families are the part of a name before '/'.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <functional>
#include <map>
#include <string>

namespace anyfs {

class RatioReporter final : public benchmark::ConsoleReporter {
 public:
  // `baseline_of(family)` names the baseline member of a family ("MemoryFs").
  explicit RatioReporter(std::function<std::string(const std::string&)> baseline_of)
      : baseline_of_(std::move(baseline_of)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      cpu_ns_[run.run_name.str()] = run.GetAdjustedCPUTime();
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nratio to the baseline of the same run (CPU time, lower is better):\n");
    for (const auto& [name, ns] : cpu_ns_) {
      auto family = name.substr(0, name.find('/'));
      auto base = cpu_ns_.find(family + "/" + baseline_of_(family));
      if (base == cpu_ns_.end() || base->second <= 0) continue;
      std::printf("  %-28s %10.1f ns  %7.3fx\n", name.c_str(), ns, ns / base->second);
    }
  }

 private:
  std::function<std::string(const std::string&)> baseline_of_;
  std::map<std::string, double> cpu_ns_;
};

}  // namespace anyfs
