// The launcher's own line of processes, and the decisions it makes from the
// process table at the start of every `corral run` (the hot path): the run id
// (records::run_id_of) and which processes a killed launcher's test left behind.
// Both read through a Host (kernel/host.hpp), so tests run them on a recorded
// /proc (tests/data/hosts/launch-*) without root.
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kernel/host.hpp"
#include "kernel/process.hpp"

namespace corral::launcher {

// Our ancestors, walked once per launch with one stat read per process
// (proc::ancestors) and shared by the run id and the stale sweep. The walk is
// lazy: run_id() goes up to the nearest ctest (records::run_ancestors: two reads
// when ctest is our parent); own_line() continues from there to init only when
// the stale sweep needs it (a killed launcher left something behind).
class Ancestry {
  public:
    explicit Ancestry(const Host& host = live_host()) : host_(&host) {}

    // records::run_id_of our ancestors: "ctest-<pid>-<start ticks>", the parent's
    // "<comm>-<pid>-<start ticks>" without a ctest ancestor, "unknown" when /proc
    // cannot be read (records.hpp).
    const std::string& run_id();
    // Our pid and every ancestor's up to init (pid 1 included): the processes
    // the stale sweep must never end, however their environment looks.
    const std::set<pid_t>& own_line();

  private:
    const std::vector<proc::ProcessStat>& run_chain();
    const Host* host_;
    std::optional<std::vector<proc::ProcessStat>> chain_;  // records::run_ancestors
    std::optional<std::string> run_id_;
    std::optional<std::set<pid_t>> line_;
};

// What a launcher killed outright (SIGKILL, OOM) left running: processes whose
// environment (proc_pid_environ(5)) holds exactly the entry
// "CORRAL_TEST_ID=<test_id>" that the launcher gives every test, except those in
// `spare` (our own line: a launcher started inside that test inherits the id).
// Processes whose environ cannot be read (another user's, kernel threads) are
// not taken. The stat is read between two environ reads, so a pid reused in
// between is not taken either; ProcessRef::open then pins each by start time.
std::vector<proc::ProcessStat> stale_test_processes(const std::string& test_id,
                                                    const std::set<pid_t>& spare,
                                                    const Host& host = live_host());

}  // namespace corral::launcher
