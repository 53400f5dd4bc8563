// Tiny, strict text helpers for kernel-format files. Parsers for real formats
// (JSON, YAML, command lines) come from libraries, not from here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corral {

std::string_view trim(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char sep);
std::vector<std::string_view> split_lines(std::string_view s);
bool starts_with_path(std::string_view path, std::string_view prefix);  // on '/' boundaries

// Whole-string decimal parse; nullopt on anything else (sign, spaces, overflow).
std::optional<uint64_t> parse_u64(std::string_view s);
std::optional<int64_t> parse_i64(std::string_view s);

// Count of CPUs in a kernel cpu list such as "0-3,8,10-11"; nullopt if malformed.
std::optional<int> count_cpu_list(std::string_view list);

// "24 GiB", "512 MiB", "3.5 GiB": for human output only.
std::string human_bytes(uint64_t bytes);

}  // namespace corral
