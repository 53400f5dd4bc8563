#include "common/units.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

#include "common/text.hpp"

namespace corral::units {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// "12.5" -> 12.5; digits with at most one '.', at least one digit, no sign.
std::optional<double> decimal(std::string_view s) {
    bool digit = false, dot = false;
    for (char c : s) {
        if (is_digit(c))
            digit = true;
        else if (c == '.' && !dot)
            dot = true;
        else
            return std::nullopt;
    }
    if (!digit) return std::nullopt;
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::string quoted(std::string_view s) {
    return cat({"\"", s, "\""});
}

const char* const kSizeRule =
    "expected a number with a binary unit: K, M, G, T (or KiB, MiB, GiB, TiB; powers of 1024) "
    "or B, such as 512M, 2G or 1.5GiB";

}  // namespace

Parsed<uint64_t> parse_size(std::string_view raw) {
    const std::string_view text = trim(raw);
    std::size_t i = 0;
    while (i < text.size() && is_digit(text[i]))
        ++i;
    const std::string_view whole = text.substr(0, i);
    std::string_view frac;
    if (i < text.size() && text[i] == '.') {
        std::size_t f = ++i;
        while (i < text.size() && is_digit(text[i]))
            ++i;
        frac = text.substr(f, i - f);
        if (frac.empty()) return Parsed<uint64_t>::fail(quoted(raw) + ": " + kSizeRule);
    }
    if (whole.empty()) return Parsed<uint64_t>::fail(quoted(raw) + ": " + kSizeRule);
    std::string_view rest = text.substr(i);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const std::string unit = lower(rest);

    int shift = -1;
    if (unit == "b")
        shift = 0;
    else if (unit == "k" || unit == "kib")
        shift = 10;
    else if (unit == "m" || unit == "mib")
        shift = 20;
    else if (unit == "g" || unit == "gib")
        shift = 30;
    else if (unit == "t" || unit == "tib")
        shift = 40;
    if (unit.empty()) {
        if (whole.find_first_not_of('0') == std::string_view::npos &&
            frac.find_first_not_of('0') == std::string_view::npos)
            return Parsed<uint64_t>::ok(0);
        return Parsed<uint64_t>::fail(quoted(raw) +
                                      ": a unit is required (a bare number could mean bytes or "
                                      "MiB); " +
                                      kSizeRule);
    }
    if (unit == "kb" || unit == "mb" || unit == "gb" || unit == "tb") {
        std::string binary(1, static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0]))));
        return Parsed<uint64_t>::fail(
            quoted(raw) + ": \"" + std::string(rest) +
            "\" is ambiguous (10^n or 2^n bytes?); corral's sizes are binary: write " +
            std::string(whole) + (frac.empty() ? std::string() : cat({".", frac})) + binary +
            " or " + std::string(whole) + (frac.empty() ? std::string() : cat({".", frac})) +
            binary + "iB (" + binary + " = 2^" +
            std::to_string(unit[0] == 'k'   ? 10
                           : unit[0] == 'm' ? 20
                           : unit[0] == 'g' ? 30
                                            : 40) +
            ")");
    }
    if (shift < 0) return Parsed<uint64_t>::fail(quoted(raw) + ": " + kSizeRule);
    if (frac.size() > 9) return Parsed<uint64_t>::fail(quoted(raw) + ": at most 9 decimal places");

    // Exact integer arithmetic, the same steps as _corral_parse_size in CMake:
    // bytes = whole * 2^shift + ceil(frac * 2^shift / 10^d).
    const auto too_big = [&] {
        return Parsed<uint64_t>::fail(quoted(raw) + ": larger than the largest size, 4 EiB (2^62 " +
                                      "bytes)");
    };
    const std::string_view w = whole.substr(std::min(whole.find_first_not_of('0'), whole.size()));
    if (w.size() > 19) return too_big();
    uint64_t whole_v = 0;
    if (!w.empty()) std::from_chars(w.data(), w.data() + w.size(), whole_v);
    if (whole_v > (kMaxSizeBytes >> shift)) return too_big();
    uint64_t bytes = whole_v << shift;
    if (!frac.empty()) {
        const int d = static_cast<int>(frac.size());
        uint64_t f = 0;
        std::from_chars(frac.data(), frac.data() + frac.size(), f);
        const int common = std::min(shift, d);
        uint64_t num = f << (shift - common);
        uint64_t den = uint64_t{1} << (d - common);
        for (int k = 0; k < d; ++k)
            den *= 5;
        bytes += (num + den - 1) / den;
    }
    if (bytes > kMaxSizeBytes) return too_big();
    return Parsed<uint64_t>::ok(bytes);
}

Parsed<double> parse_duration(std::string_view raw) {
    const std::string t = lower(trim(raw));
    const auto bad = [&] {
        return Parsed<double>::fail(quoted(raw) +
                                    ": expected a duration such as 90s, 5m, 1h30m, 250ms or a "
                                    "number of seconds such as 1500");
    };
    if (t.empty()) return bad();
    if (auto plain = decimal(t)) return Parsed<double>::ok(*plain);  // seconds
    static const std::array<std::pair<std::string_view, double>, 4> kUnits = {
        {{"h", 3600}, {"ms", 0.001}, {"m", 60}, {"s", 1}}};
    // Order of magnitude of each unit: h > m > s > ms; each at most once.
    static const std::array<int, 4> kRank = {3, 0, 2, 1};
    double total = 0;
    int last_rank = 4;
    std::size_t i = 0;
    while (i < t.size()) {
        std::size_t start = i;
        while (i < t.size() && (is_digit(t[i]) || t[i] == '.'))
            ++i;
        auto number = decimal(std::string_view(t).substr(start, i - start));
        if (!number) return bad();
        bool matched = false;
        for (std::size_t u = 0; u < kUnits.size(); ++u) {
            const auto& [name, factor] = kUnits[u];
            if (t.compare(i, name.size(), name) != 0) continue;
            if (kRank[u] >= last_rank) return bad();
            last_rank = kRank[u];
            total += *number * factor;
            i += name.size();
            matched = true;
            break;
        }
        if (!matched) return bad();
    }
    return Parsed<double>::ok(total);
}

Parsed<bool> parse_bool(std::string_view raw) {
    const std::string t = lower(trim(raw));
    if (t == "true" || t == "yes" || t == "on" || t == "1") return Parsed<bool>::ok(true);
    if (t == "false" || t == "no" || t == "off" || t == "0") return Parsed<bool>::ok(false);
    return Parsed<bool>::fail(quoted(raw) + ": expected true or false (also yes/no, on/off, 1/0)");
}

Parsed<std::string> parse_lock_name(std::string_view text) {
    bool ok = !text.empty() && text.size() <= kMaxLockNameLength && text.front() != '.';
    for (char c : text)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
            ok = false;
    if (!ok)
        return Parsed<std::string>::fail(
            quoted(text) + ": a name is 1 to 100 of A-Z a-z 0-9 . _ -, not starting with '.'");
    return Parsed<std::string>::ok(std::string(text));
}

Parsed<int> parse_grace(std::string_view text) {
    const std::string_view t = trim(text);
    bool digits = !t.empty() && t.size() <= 10;
    for (char c : t)
        digits = digits && is_digit(c);
    uint64_t v = 0;
    if (digits) std::from_chars(t.data(), t.data() + t.size(), v);
    if (!digits || v > static_cast<uint64_t>(kMaxGraceSeconds))
        return Parsed<int>::fail(quoted(text) +
                                 ": expected a whole number of seconds from 0 to 3600");
    return Parsed<int>::ok(static_cast<int>(v));
}

std::optional<double> parse_decimal(std::string_view text) {
    return decimal(text);
}

}  // namespace corral::units
