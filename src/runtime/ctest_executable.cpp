#include "runtime/ctest_executable.hpp"

#include <filesystem>
#include <system_error>
#include <vector>

#include "common/text.hpp"

namespace corral::launcher {
namespace {

namespace fs = std::filesystem;

// CMake's AddConfigurations: the candidates for `name` under `dir`.
void add_configurations(std::vector<std::string>& attempts, std::string dir, std::string_view name,
                        std::string_view config) {
    if (!dir.empty() && dir.back() != '/') dir += '/';
    attempts.push_back(cat({dir, name}));
    if (!config.empty()) {
        attempts.push_back(cat({dir, config, "/", name}));
        attempts.push_back(cat({config, "/", dir, name}));
        return;
    }
    for (std::string_view c :
         {"Release", "Debug", "MinSizeRel", "RelWithDebInfo", "Deployment", "Development"})
        attempts.push_back(cat({dir, c, "/", name}));
}

bool is_file(const fs::path& p) {
    std::error_code ec;
    return fs::exists(p, ec) && !fs::is_directory(p, ec);
}

}  // namespace

std::string ctest_find_executable(std::string_view command, std::string_view config,
                                  std::string_view path_variable) {
    // cmSystemTools::GetFilenamePath / GetFilenameName: "/x" has the path "/".
    auto slash = command.rfind('/');
    const bool bare = slash == std::string_view::npos;
    const std::string dir(bare ? "" : slash == 0 ? "/" : command.substr(0, slash));
    std::string_view name = bare ? command : command.substr(slash + 1);
    std::vector<std::string> attempts;
    add_configurations(attempts, dir, name, config);
    if (!dir.empty() && dir[0] == '/') add_configurations(attempts, dir.substr(1), name, config);
    for (const auto& a : attempts) {
        if (!is_file(a)) continue;
        std::error_code ec;
        fs::path p = fs::absolute(a, ec);
        return (ec ? fs::path(a) : p).lexically_normal().string();
    }
    if (!dir.empty()) return "";
    for (auto d : split(path_variable, ':')) {
        if (d.empty()) continue;
        fs::path candidate = fs::path(d) / name;
        if (is_file(candidate)) return candidate.string();
    }
    return "";
}

}  // namespace corral::launcher
