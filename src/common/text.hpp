// Tiny, strict text helpers for kernel-format files. Parsers for real formats
// (JSON, YAML, command lines) come from libraries, not from here.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corral {

std::string_view trim(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char sep);
// Records each ended by `terminator` (the last may lack it); no empty record
// after a final terminator. split_lines is split_records(s, '\n').
std::vector<std::string_view> split_records(std::string_view s, char terminator);
std::vector<std::string_view> split_lines(std::string_view s);
bool starts_with_path(std::string_view path, std::string_view prefix);  // on '/' boundaries

// Whole-string decimal parse; nullopt on anything else (sign, spaces, overflow).
std::optional<uint64_t> parse_u64(std::string_view s);
std::optional<int64_t> parse_i64(std::string_view s);

// Count of CPUs in a kernel cpu list such as "0-3,8,10-11"; nullopt if malformed.
std::optional<int> count_cpu_list(std::string_view list);

// The shortest decimal that reads back as v: 1.5 -> "1.5", 3 -> "3".
std::string shortest_decimal(double v);
// Up to 6 significant digits, for messages: 0.3 * 3 -> "0.9", not "0.8999999999999999".
std::string human_number(double v);

// "24 GiB", "512 MiB", "3.5 GiB": for human output only.
std::string human_bytes(uint64_t bytes);

// The parts joined into one string, sized once: cat({".", name, ".XXXXXX"}).
// Use it where a short literal comes first: GCC 12 at -O3 misreports
// `"x" + std::string(...)` (operator+(const char*, string&&), an insert at 0)
// as an overlapping memcpy, -Wrestrict (GCC bugs 105329, 105651), and the
// Release build is -Werror.
std::string cat(std::initializer_list<std::string_view> parts);

}  // namespace corral
