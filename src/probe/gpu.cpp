// GPUs: NVIDIA from /proc/driver/nvidia/gpus/*/information and /dev/nvidiaN,
// AMD from the KFD topology (/sys/class/kfd/kfd/topology/nodes/*) and
// /dev/dri/renderD*, filtered and renumbered as CUDA_VISIBLE_DEVICES /
// HIP_VISIBLE_DEVICES say.
#include <algorithm>
#include <filesystem>
#include <map>
#include <ostream>

#include "common/text.hpp"
#include "probe/probe.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;

struct Found {
    std::string name;
    std::string uuid;    // NVIDIA "GPU-..." when the information file has it
    std::string device;  // host path of the device node
    std::string where;   // the files it came from
};

// Directory entry names under a host path, sorted; empty if unreadable.
std::vector<std::string> list_dir(const HostRoot& host, const std::string& host_path) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(host.resolve(host_path), ec), end; !ec && it != end;
         it.increment(ec))
        names.push_back(it->path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// "Key:   value" (NVIDIA information) or "key value" (KFD properties) lines.
std::map<std::string, std::string> parse_pairs(std::string_view text, char sep) {
    std::map<std::string, std::string> out;
    for (auto line : split_lines(text)) {
        auto at = line.find(sep);
        if (at == std::string_view::npos) continue;
        out.emplace(std::string(trim(line.substr(0, at))), std::string(trim(line.substr(at + 1))));
    }
    return out;
}

// /dev/nvidia0.. (not nvidiactl, nvidia-uvm): minor numbers, ascending.
std::vector<uint64_t> nvidia_device_minors(const HostRoot& host) {
    std::vector<uint64_t> minors;
    for (const auto& name : list_dir(host, "/dev"))
        if (name.rfind("nvidia", 0) == 0)
            if (auto n = parse_u64(std::string_view(name).substr(6))) minors.push_back(*n);
    std::sort(minors.begin(), minors.end());
    return minors;
}

std::vector<Found> find_nvidia(const HostRoot& host) {
    std::vector<Found> out;
    std::vector<uint64_t> claimed;
    // Bus ids ("0000:3b:00.0") sort in PCI bus order: nvidia-smi's order, and
    // CUDA's under CUDA_DEVICE_ORDER=PCI_BUS_ID.
    for (const auto& bus : list_dir(host, "/proc/driver/nvidia/gpus")) {
        const std::string info_path = "/proc/driver/nvidia/gpus/" + bus + "/information";
        auto info = host.read_text(info_path);
        if (!info) continue;
        auto kv = parse_pairs(*info, ':');
        auto minor = parse_u64(kv["Device Minor"]);
        if (!minor) continue;
        const std::string node = "/dev/nvidia" + std::to_string(*minor);
        if (!host.exists(node)) continue;  // not given to this container
        claimed.push_back(*minor);
        out.push_back({kv["Model"], kv["GPU UUID"], node, info_path + ", " + node});
    }
    // Device nodes the driver's /proc files did not describe (e.g. /proc not mounted through).
    for (auto minor : nvidia_device_minors(host)) {
        if (std::find(claimed.begin(), claimed.end(), minor) != claimed.end()) continue;
        const std::string node = "/dev/nvidia" + std::to_string(minor);
        out.push_back({"", "", node, node + " (no /proc/driver/nvidia entry)"});
    }
    return out;
}

std::vector<Found> find_amd(const HostRoot& host) {
    const std::string nodes = "/sys/class/kfd/kfd/topology/nodes";
    std::vector<std::pair<uint64_t, std::string>> numbered;
    for (const auto& n : list_dir(host, nodes))
        if (auto id = parse_u64(n)) numbered.emplace_back(*id, n);
    std::sort(numbered.begin(), numbered.end());  // ROCr enumerates agents in node order

    std::vector<Found> out;
    for (const auto& [id, dir] : numbered) {
        const std::string props_path = nodes + "/" + dir + "/properties";
        auto props = host.read_text(props_path);
        if (!props) continue;
        auto kv = parse_pairs(*props, ' ');
        auto simd = parse_u64(kv["simd_count"]);
        if (!simd || *simd == 0) continue;  // a CPU node
        auto render = parse_u64(kv["drm_render_minor"]);
        if (!render) continue;
        const std::string node = "/dev/dri/renderD" + std::to_string(*render);
        if (!host.exists(node)) continue;
        std::string name;
        if (auto n = host.read_line(nodes + "/" + dir + "/name")) name = std::string(trim(*n));
        if (name.empty() && !kv["gfx_target_version"].empty())
            name = "gfx_target_version " + kv["gfx_target_version"];
        out.push_back({name, "", node, props_path + ", " + node});
    }
    return out;
}

// Which devices the runtime shows, in its order. CUDA's rules, which HIP
// follows: unset = all; a list of indices (or NVIDIA UUIDs / unique UUID
// prefixes); parsing stops at the first entry that names no device, so "" and
// "-1" hide everything and "0,-1,1" shows only device 0.
std::vector<size_t> visible_order(const std::vector<Found>& found, const Environment& env,
                                  const char* variable, std::string& note) {
    std::vector<size_t> order;
    auto it = env.find(variable);
    if (it == env.end()) {
        for (size_t i = 0; i < found.size(); ++i)
            order.push_back(i);
        return order;
    }
    note = std::string(variable) + "=" + it->second;
    if (trim(it->second).empty()) return order;
    for (auto raw : split(it->second, ',')) {
        auto token = trim(raw);
        std::optional<size_t> pick;
        if (auto n = parse_u64(token); n && *n < found.size()) {
            pick = static_cast<size_t>(*n);
        } else if (token.rfind("GPU-", 0) == 0) {
            for (size_t i = 0; i < found.size(); ++i) {
                if (found[i].uuid.rfind(std::string(token), 0) != 0) continue;
                if (pick) {  // an ambiguous prefix names no single device
                    pick.reset();
                    break;
                }
                pick = i;
            }
        }
        if (!pick || std::find(order.begin(), order.end(), *pick) != order.end()) break;
        order.push_back(*pick);
    }
    return order;
}

void append(std::vector<GpuFacts>& out, const std::vector<Found>& found, const Environment& env,
            const char* vendor, const char* variable, const char* runtime) {
    std::string note;
    auto order = visible_order(found, env, variable, note);
    for (size_t runtime_index = 0; runtime_index < order.size(); ++runtime_index) {
        const size_t physical = order[runtime_index];
        const auto& f = found[physical];
        GpuFacts g;
        g.vendor = vendor;
        g.index = static_cast<int>(runtime_index);
        g.id = std::string(vendor) + std::to_string(physical);
        g.name = f.name;
        g.device = f.device;
        g.source = f.where + "; " + runtime + " device " + std::to_string(runtime_index) +
                   (note.empty() ? " (" + std::string(variable) + " unset)" : " under " + note);
        out.push_back(std::move(g));
    }
}

}  // namespace

std::vector<GpuFacts> probe_gpus(const HostRoot& host, const Environment& env) {
    std::vector<GpuFacts> out;
    append(out, find_nvidia(host), env, "nvidia", "CUDA_VISIBLE_DEVICES", "CUDA");
    append(out, find_amd(host), env, "amd", "HIP_VISIBLE_DEVICES", "HIP");
    return out;
}

void describe_gpus(std::ostream& out, const std::vector<GpuFacts>& gpus) {
    out << "GPUs:";
    if (gpus.empty()) {
        out << " none visible (looked at /proc/driver/nvidia/gpus, /dev/nvidia*, "
               "/sys/class/kfd/kfd/topology/nodes, /dev/dri/renderD*; CUDA_VISIBLE_DEVICES and "
               "HIP_VISIBLE_DEVICES may hide devices)\n";
        return;
    }
    out << "\n";
    for (const auto& g : gpus)
        out << "  " << g.id << "  " << (g.name.empty() ? "(unnamed " + g.vendor + " GPU)" : g.name)
            << " at " << g.device << "\n    from " << g.source << "\n";
}

}  // namespace corral
