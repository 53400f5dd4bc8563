#include "common/text.hpp"

#include <charconv>
#include <cstdio>

namespace corral {

std::string_view trim(std::string_view s) {
    const char* ws = " \t\r\n";
    auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    size_t start = 0;
    for (;;) {
        auto pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}

std::vector<std::string_view> split_records(std::string_view s, char terminator) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start < s.size()) {
        auto pos = s.find(terminator, start);
        if (pos == std::string_view::npos) pos = s.size();
        out.push_back(s.substr(start, pos - start));
        start = pos + 1;
    }
    return out;
}

std::vector<std::string_view> split_lines(std::string_view s) {
    return split_records(s, '\n');
}

std::string human_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

std::string shortest_decimal(double v) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
}

bool starts_with_path(std::string_view path, std::string_view prefix) {
    while (prefix.size() > 1 && prefix.back() == '/')
        prefix.remove_suffix(1);
    if (prefix == "/") return !path.empty() && path.front() == '/';
    if (path.substr(0, prefix.size()) != prefix) return false;
    return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::optional<uint64_t> parse_u64(std::string_view s) {
    if (s.empty()) return std::nullopt;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<int64_t> parse_i64(std::string_view s) {
    if (s.empty()) return std::nullopt;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<int> count_cpu_list(std::string_view list) {
    list = trim(list);
    if (list.empty()) return 0;
    int count = 0;
    for (auto part : split(list, ',')) {
        auto dash = part.find('-');
        if (dash == std::string_view::npos) {
            if (!parse_u64(part)) return std::nullopt;
            ++count;
            continue;
        }
        auto lo = parse_u64(part.substr(0, dash));
        auto hi = parse_u64(part.substr(dash + 1));
        if (!lo || !hi || *hi < *lo || *hi - *lo > 1'000'000) return std::nullopt;
        count += static_cast<int>(*hi - *lo + 1);
    }
    return count;
}

std::string human_bytes(uint64_t bytes) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024.0 && u < 6) {
        v /= 1024.0;
        ++u;
    }
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else
        std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

std::string cat(std::initializer_list<std::string_view> parts) {
    size_t size = 0;
    for (auto p : parts)
        size += p.size();
    std::string out;
    out.reserve(size);
    for (auto p : parts)
        out.append(p);
    return out;
}

}  // namespace corral
