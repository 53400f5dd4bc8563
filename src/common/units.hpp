// The one grammar for sizes, durations, booleans and names that corral reads
// from corral.yaml, CORRAL_* variables, the command line and (re-implemented in
// integer CMake, held to the same table tests/data/units-cases.json) from
// cmake/CorralFunctions.cmake. docs/policy.md "Sizes, durations and switches"
// states the rules; the error texts below teach them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace corral::units {

// A parsed value, or a sentence saying what was wrong and what is expected.
template <typename T>
struct Parsed {
    std::optional<T> value;
    std::string error;  // empty when value is set

    explicit operator bool() const { return value.has_value(); }
    const T& operator*() const { return *value; }
    static Parsed ok(T v) { return Parsed{std::move(v), {}}; }
    static Parsed fail(std::string why) { return Parsed{std::nullopt, std::move(why)}; }
};

// Sizes, in bytes. Every unit is binary, as systemd's MemoryMax= (K, M, G, T
// are 1024-based, systemd.resource-control(5)), docker -m and cgroup
// memory.max take them: K = KiB = 2^10, M = MiB = 2^20, G = GiB = 2^30,
// T = TiB = 2^40, B = bytes; case-insensitive; one optional space before the
// unit. "KB", "MB", "GB", "TB" are rejected as ambiguous (Kubernetes reads
// "G" as 10^9, docker as 2^30). A unit is required except for "0". Up to 9
// decimal places; a fraction of a byte rounds up ("0.1K" = 103). At most
// 2^62 bytes (4 EiB).
Parsed<uint64_t> parse_size(std::string_view text);
inline constexpr uint64_t kMaxSizeBytes = uint64_t{1} << 62;

// Durations, in seconds: "90s", "5m", "1h", "1h30m", "250ms", "1.5m", or a
// plain number of seconds ("1500"); case-insensitive; at least one unit part
// and each unit at most once, largest first.
Parsed<double> parse_duration(std::string_view text);

// Switches: true/yes/on/1 and false/no/off/0, case-insensitive (CMake's
// if() constants without its Y/N/IGNORE/NOTFOUND extras).
Parsed<bool> parse_bool(std::string_view text);

// Host lock and slot-type names (corral run --lock/--slots, CMake LOCKS):
// 1..100 of [A-Za-z0-9._-], not starting with '.' (they become file names in
// the runtime directory: no "/", no "." or "..", no hidden files).
Parsed<std::string> parse_lock_name(std::string_view text);
inline constexpr std::size_t kMaxLockNameLength = 100;

// The TERM-to-KILL grace (corral run/reap --grace, corral_setup(GRACE)): a
// whole number of seconds from 0 to 3600. Whole, because CMake passes it on
// in integer arithmetic (TIMEOUT = T + GRACE + margin).
Parsed<int> parse_grace(std::string_view text);
inline constexpr int kMaxGraceSeconds = 3600;

// A plain decimal: digits with at most one '.', at least one digit; no sign,
// exponent or space ("12.5" -> 12.5, "5." -> 5). nullopt otherwise.
std::optional<double> parse_decimal(std::string_view text);

}  // namespace corral::units
