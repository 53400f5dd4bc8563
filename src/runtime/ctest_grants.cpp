#include "runtime/ctest_grants.hpp"

#include <stdexcept>

#include "common/text.hpp"

namespace corral::launcher {
namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

}  // namespace

std::vector<records::GrantedResource> parse_ctest_resources(const EnvLookup& getenv) {
    std::vector<records::GrantedResource> out;
    auto count_text = getenv("CTEST_RESOURCE_GROUP_COUNT");
    if (!count_text) return out;
    auto count = parse_u64(trim(*count_text));
    if (!count || *count > 100000)
        throw std::invalid_argument("CTEST_RESOURCE_GROUP_COUNT='" + *count_text +
                                    "': expected a whole number");
    for (uint64_t g = 0; g < *count; ++g) {
        std::string var = "CTEST_RESOURCE_GROUP_" + std::to_string(g);
        auto types = getenv(var);
        if (!types)
            throw std::invalid_argument(
                var + " is not set although CTEST_RESOURCE_GROUP_COUNT=" + *count_text);
        for (auto type_view : split(*types, ',')) {
            auto type = std::string(trim(type_view));
            if (type.empty()) continue;
            std::string tvar = var + "_" + upper(type);
            auto value = getenv(tvar);
            if (!value)
                throw std::invalid_argument(tvar + " is not set although " + var + "='" + *types +
                                            "' lists '" + type + "'");
            for (auto entry : split(*value, ';')) {
                entry = trim(entry);
                if (entry.empty()) continue;
                auto fields = split(entry, ',');
                auto bad = [&] {
                    return std::invalid_argument(tvar + "='" + *value +
                                                 "': expected id:ID,slots:N[;...], got '" +
                                                 std::string(entry) + "'");
                };
                if (fields.size() != 2 || fields[0].substr(0, 3) != "id:" ||
                    fields[1].substr(0, 6) != "slots:")
                    throw bad();
                auto slots = parse_u64(fields[1].substr(6));
                auto id = std::string(fields[0].substr(3));
                if (!slots || id.empty()) throw bad();
                out.push_back({static_cast<int>(g), type, id, static_cast<int>(*slots)});
            }
        }
    }
    return out;
}

Translation translate_grants(const std::vector<records::GrantedResource>& grants,
                             const std::map<std::string, std::string>& heavy_io_paths,
                             const GpuHandles* gpu_handles) {
    Translation t;
    std::vector<std::string> gpu_ids;
    uint64_t mem_mib = 0;
    bool any_mem = false;
    for (const auto& g : grants) {
        if (g.type == "heavy_io") {
            auto it = heavy_io_paths.find(g.id);
            if (it != heavy_io_paths.end() && !it->second.empty()) {
                if (!t.scratch_root) t.scratch_root = it->second;
            } else {
                t.notes.push_back("heavy_io id '" + g.id +
                                  "' was granted but no plan (--plan) names its directory; the "
                                  "scratch directory stays on the default root");
            }
        } else if (g.type == "gpus") {
            gpu_ids.push_back(g.id);
        } else if (g.type == "mem_mib") {
            any_mem = true;
            mem_mib += static_cast<uint64_t>(g.slots);
        }
    }
    if (!gpu_ids.empty()) {
        GpuHandles from_host;
        if (!gpu_handles || gpu_handles->empty()) from_host = gpu_handles_from_host();
        translate_gpu_grants(gpu_ids,
                             gpu_handles && !gpu_handles->empty() ? *gpu_handles : from_host, t.env,
                             t.notes);
    }
    if (any_mem) t.env.emplace_back("CORRAL_MEMORY_BYTES", std::to_string(mem_mib * 1024 * 1024));
    return t;
}

std::optional<uint64_t> declared_memory_bytes(const std::vector<records::GrantedResource>& grants) {
    uint64_t mib = 0;
    bool any = false;
    for (const auto& g : grants)
        if (g.type == "mem_mib") {
            mib += static_cast<uint64_t>(g.slots);
            any = true;
        }
    if (!any) return std::nullopt;
    return mib << 20;
}

std::optional<int> granted_processors(const std::vector<records::GrantedResource>& grants) {
    int n = 0;
    bool any = false;
    for (const auto& g : grants)
        if (g.type == "cpus") {
            n += g.slots;
            any = true;
        }
    if (!any) return std::nullopt;
    return n;
}

}  // namespace corral::launcher
