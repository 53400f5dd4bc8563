// The rules that tie a process to a reap scope. Pure functions of strings, so
// the tricky cases (sibling directories, trailing slashes, key=value options,
// shell scripts, deleted directories) are unit-tested without processes.
#include <fnmatch.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "common/text.hpp"
#include "runtime/reaper.hpp"

namespace corral::reap {
namespace {

namespace fs = std::filesystem;

std::string strip_trailing_slashes(std::string s) {
    while (s.size() > 1 && s.back() == '/')
        s.pop_back();
    return s;
}

// Characters that may precede a path embedded in a larger argv element.
bool opens_embedded_path(char c) {
    switch (c) {
        case '=':
        case ',':
        case ':':
        case ';':
        case '\'':
        case '"':
        case '(':
        case ' ':
        case '\t':
        case '\n':
            return true;
        default:
            return false;
    }
}

// Characters that may follow the scope when it is embedded: a path boundary
// ('/') or the end of the path inside the element.
bool closes_embedded_path(char c) {
    switch (c) {
        case '/':
        case ',':
        case ':':
        case ';':
        case '\'':
        case '"':
        case ')':
        case ' ':
        case '\t':
        case '\n':
            return true;
        default:
            return false;
    }
}

std::string_view without_deleted_suffix(std::string_view path) {
    constexpr std::string_view kDeleted = " (deleted)";
    if (path.size() > kDeleted.size() && path.substr(path.size() - kDeleted.size()) == kDeleted)
        path.remove_suffix(kDeleted.size());
    return path;
}

std::string_view basename_of(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::optional<Tie> parse_tie(std::string_view name) {
    for (const auto& row : kTieNames)
        if (name == row.name) return row.value;
    return std::nullopt;
}

bool& MatchSet::operator[](Tie tie) {
    switch (tie) {
        case Tie::Argv:
            return argv;
        case Tie::Cwd:
            return cwd;
        case Tie::Exe:
            return exe;
        case Tie::Env:
            return env;
        case Tie::Files:
            return files;
    }
    return argv;  // unreachable: every Tie is a case above
}

MatchSet parse_match_set(std::string_view list) {
    std::string names;
    for (const auto& row : kTieNames) {
        if (!names.empty()) names += ", ";
        names += row.name;
    }
    MatchSet m{false, false, false, false, false};
    bool any = false;
    for (auto item : split(list, ',')) {
        item = trim(item);
        auto tie = parse_tie(item);
        if (!tie)
            throw UsageError("--match: unknown kind '" + std::string(item) +
                             "' (expected a comma-separated list of " + names + ")");
        m[*tie] = true;
        any = true;
    }
    if (!any) throw UsageError("--match: empty list (expected some of " + names + ")");
    return m;
}

Scope make_scope(const std::string& dir, std::optional<std::string> token) {
    Scope scope;
    if (token && token->empty()) throw UsageError("--token: must not be empty");
    scope.token = std::move(token);
    if (dir.empty()) {
        if (!scope.token) throw UsageError("give --scope DIR, --token TOKEN, or both");
        return scope;
    }
    fs::path p(dir);
    if (p.is_relative()) {
        std::error_code ec;
        auto cwd = fs::current_path(ec);
        if (ec)
            throw UsageError("--scope " + dir + ": relative, and the current directory is unknown");
        p = cwd / p;
    }
    auto given = strip_trailing_slashes(p.lexically_normal().string());
    // The kernel's view: symlinks resolved before any `..` that follows them.
    std::error_code ec;
    auto real = fs::weakly_canonical(p, ec);
    auto resolved = ec ? given : strip_trailing_slashes(real.lexically_normal().string());
    scope.paths.push_back(given);
    if (resolved != given) scope.paths.push_back(resolved);
    return scope;
}

bool path_in_scope(std::string_view path, const Scope& scope) {
    path = without_deleted_suffix(path);
    if (path.empty() || path.front() != '/') return false;
    for (const auto& p : scope.paths)
        if (starts_with_path(path, p)) return true;
    return false;
}

bool argv_element_in_scope(std::string_view element, const Scope& scope) {
    if (!element.empty() && element.front() == '/') {
        auto normal = fs::path(std::string(element)).lexically_normal().string();
        for (const auto& p : scope.paths)
            if (starts_with_path(normal, p)) return true;
    }
    for (const auto& p : scope.paths) {
        for (auto pos = element.find(p, 1); pos != std::string_view::npos;
             pos = element.find(p, pos + 1)) {
            if (!opens_embedded_path(element[pos - 1])) continue;
            auto end = pos + p.size();
            if (end == element.size() || closes_embedded_path(element[end])) return true;
        }
    }
    return false;
}

bool name_matches_glob(std::string_view glob, const proc::ProcessInfo& info) {
    std::string g(glob);
    if (::fnmatch(g.c_str(), info.comm.c_str(), 0) == 0) return true;
    if (info.argv.empty()) return false;
    std::string argv0(basename_of(info.argv.front()));
    return ::fnmatch(g.c_str(), argv0.c_str(), 0) == 0;
}

}  // namespace corral::reap
