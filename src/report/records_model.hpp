// The records model: the JSON lines `corral run --records` appends (schema
// corral.record/1, docs/runtime.md "Records") read back into typed structs,
// each with one typed outcome. The one reader of records files; the renderers
// (text, JUnit, Markdown, HTML) take what it returns and never parse JSON.
//
// Tolerant by design: unknown fields are ignored (new fields may be added
// within /1), absent fields take their zero value (older records have no
// run_id, which reads as ""). A line that is not a JSON object, has another
// schema, or holds a known field of the wrong type is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/run_outcome.hpp"

namespace corral::report {

// What happened to one test: the one RunOutcome (common/run_outcome.hpp, the
// launcher's own type and exit-code table); outcome_of() reads it back from a
// record's fields.
using Outcome = RunOutcome;
inline constexpr const RunOutcome (&kAllOutcomes)[8] = kAllRunOutcomes;
using corral::outcome_name;

struct Process {
    int pid = 0;
    std::string command;
};

struct Grant {
    int group = 0;
    std::string type;
    std::string id;
    int slots = 0;
};

struct Record {
    std::string file;  // where it was read, for messages
    int line = 0;

    std::string run_id;  // "" for records written before run ids
    std::string name;
    std::vector<std::string> command;
    double start = 0;  // Unix seconds
    double end = 0;
    double wall_seconds = 0;
    std::optional<int> exit_code;
    std::optional<int> signal;
    std::optional<int> launcher_signal;  // a stop signal to the launcher during the leak sweep
    bool timed_out = false;
    double timeout_seconds = 0;
    int launcher_exit_code = 0;
    double cpu_seconds = 0;  // user + system
    uint64_t peak_memory_bytes = 0;
    std::string peak_memory_source;
    std::optional<uint64_t> memory_limit_bytes;  // --memory-limit
    // Issue 13 fields (absent in older records: nullopt / false / ""): the peak
    // that cannot be reclaimed (anonymous + kernel, not page cache) and how it
    // was measured; what the test declared; whether --memory-limit held.
    std::optional<uint64_t> peak_nonreclaimable_bytes;
    std::string peak_nonreclaimable_source;
    std::optional<uint64_t> declared_memory_bytes;
    bool memory_limit_enforced = false;
    std::string memory_limit_reason;
    std::optional<int> processors;  // CTest PROCESSORS granted, when known
    bool oom_killed = false;
    std::vector<Process> leaked;
    std::vector<Process> killed_on_timeout;
    std::vector<Grant> resources;
    std::vector<std::string> locks;
    double lock_wait_seconds = 0;

    Outcome outcome = Outcome::Passed;

    // What CTest saw: the launcher's exit code was 0.
    bool passed() const { return launcher_exit_code == 0; }
    // The test's command ran: an exit code or a signal. A command not found or
    // not executable has neither (docs/runtime.md, `exit_code` / `signal`);
    // its time and memory were the launcher's.
    bool ran() const { return exit_code || signal; }
    // The mem_mib slots CTest granted, in bytes (the test's declared MEMORY).
    std::optional<uint64_t> granted_memory_bytes() const;
};

// The one table from a record's fields to its outcome (see Outcome).
Outcome outcome_of(const Record& r);

// A bad records file: "FILE:LINE: what was expected".
class RecordsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Parses one line (no trailing newline). Throws RecordsError naming file:line.
Record parse_record(const std::string& text, const std::string& file, int line);

// Reads every record of `path`, in file order; empty lines are skipped.
// Throws RecordsError for an unreadable file or a bad line.
std::vector<Record> read_records(const std::string& path);

}  // namespace corral::report
