// GPUs: NVIDIA from the driver's gpus/*/information (kernel/paths.hpp) and /dev/nvidiaN
// (MIG instances from its capabilities/gpu<minor>/mig/gi<G>/ci<C>),
// AMD from the KFD topology (/sys/class/kfd/kfd/topology/nodes/*) and
// /dev/dri/renderD*, filtered and renumbered as CUDA_VISIBLE_DEVICES /
// ROCR_VISIBLE_DEVICES + HIP_VISIBLE_DEVICES say. Sources of each rule:
// docs/facts-schema.md, "gpus[]".
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <ostream>

#include "common/text.hpp"
#include "kernel/paths.hpp"
#include "probe/probe.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;

struct Found {
    std::string name;
    std::string uuid;    // NVIDIA "GPU-..."/"MIG-..."; AMD "GPU-<16 hex>" (KFD unique_id)
    std::string device;  // host path of the device node
    std::string where;   // the files it came from
    // A MIG device found in /proc (no MIG UUID there: NVML only): CUDA accepts it as
    // "MIG-<parent GPU UUID>/<gi>/<ci>" (MIG User Guide, R450/R460 form).
    std::string mig_path;
    bool mig = false;
};

// Directory entry names under a host path, sorted; empty if unreadable.
std::vector<std::string> list_dir(const Host& host, const std::string& host_path) {
    return host.list_dir(host_path);
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
std::vector<uint64_t> nvidia_device_minors(const Host& host) {
    std::vector<uint64_t> minors;
    for (const auto& name : list_dir(host, "/dev"))
        if (name.rfind("nvidia", 0) == 0)
            if (auto n = parse_u64(std::string_view(name).substr(6))) minors.push_back(*n);
    std::sort(minors.begin(), minors.end());
    return minors;
}

std::vector<Found> find_nvidia(const Host& host) {
    std::vector<Found> out;
    std::vector<uint64_t> claimed;
    // Bus ids ("0000:3b:00.0") sort in PCI bus order: nvidia-smi's order, and
    // CUDA's under CUDA_DEVICE_ORDER=PCI_BUS_ID.
    for (const auto& bus : list_dir(host, std::string(kpath::kNvidiaGpus))) {
        const std::string info_path = std::string(kpath::kNvidiaGpus) + "/" + bus + "/information";
        auto info = host.read_text(info_path);
        if (!info) continue;
        auto kv = parse_pairs(*info, ':');
        auto minor = parse_u64(kv["Device Minor"]);
        if (!minor) continue;
        const std::string node = "/dev/nvidia" + std::to_string(*minor);
        if (!host.exists(node)) continue;  // not given to this container
        claimed.push_back(*minor);
        // MIG mode with instances: CUDA enumerates the MIG devices (one per compute
        // instance), not the parent GPU (MIG User Guide, "CUDA Device Enumeration";
        // capabilities: "Device Nodes and Capabilities").
        const std::string caps =
            std::string(kpath::kNvidiaCapabilities) + "/gpu" + std::to_string(*minor) + "/mig";
        std::vector<Found> migs;
        auto minors = host.read_text(std::string(kpath::kNvidiaMigMinors));
        for (const auto& gi : list_dir(host, caps)) {
            if (gi.rfind("gi", 0) != 0 || !parse_u64(std::string_view(gi).substr(2))) continue;
            for (const auto& ci : list_dir(host, caps + "/" + gi)) {
                if (ci.rfind("ci", 0) != 0 || !parse_u64(std::string_view(ci).substr(2))) continue;
                // Given to this container? Its capability device node must exist.
                const std::string key =
                    "gpu" + std::to_string(*minor) + "/" + gi + "/" + ci + "/access";
                std::string cap_node;
                if (minors)
                    for (auto line : split_lines(*minors)) {
                        auto sp = line.find(' ');
                        if (sp != std::string_view::npos && line.substr(0, sp) == key)
                            cap_node = "/dev/nvidia-caps/nvidia-cap" +
                                       std::string(trim(line.substr(sp + 1)));
                    }
                if (!cap_node.empty() && !host.exists(cap_node)) continue;
                Found f{kv["Model"],
                        "",
                        node,
                        caps + "/" + gi + "/" + ci + (cap_node.empty() ? "" : ", " + cap_node),
                        "",
                        true};
                if (!kv["GPU UUID"].empty())
                    f.mig_path = "MIG-" + kv["GPU UUID"] + "/" + gi.substr(2) + "/" + ci.substr(2);
                f.name += (f.name.empty() ? "" : " ") + std::string("MIG ") + gi + "/" + ci;
                migs.push_back(std::move(f));
            }
        }
        if (!migs.empty()) {
            for (auto& f : migs)
                out.push_back(std::move(f));
            continue;
        }
        out.push_back({kv["Model"], kv["GPU UUID"], node, info_path + ", " + node, "", false});
    }
    // Device nodes the driver's /proc files did not describe (e.g. /proc not mounted through).
    for (auto minor : nvidia_device_minors(host)) {
        if (std::find(claimed.begin(), claimed.end(), minor) != claimed.end()) continue;
        const std::string node = "/dev/nvidia" + std::to_string(minor);
        out.push_back(
            {"", "", node, node + " (no entry in " + kpath::kNvidiaGpus + ")", "", false});
    }
    return out;
}

std::vector<Found> find_amd(const Host& host) {
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
        // ROCm names a GPU "GPU-<unique_id as 16 hex digits>" (rocminfo "Uuid",
        // ROCR_VISIBLE_DEVICES); 0 or missing = no UUID (older GPUs).
        std::string uuid;
        if (auto u = parse_u64(kv["unique_id"]); u && *u != 0) {
            char hex[17];
            std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(*u));
            uuid = "GPU-" + std::string(hex);
        }
        out.push_back({name, uuid, node, props_path + ", " + node, "", false});
    }
    return out;
}

// One visible device: an index into `found`, or a MIG device named only by the
// variable (its MIG UUID cannot be checked against /proc: NVML only).
struct Pick {
    std::optional<size_t> physical;
    std::string uuid;  // the UUID when the variable named it so, or found[physical].uuid
};

// Which devices the runtime shows, in its order, from `candidates` (indices into
// `found`). CUDA_VISIBLE_DEVICES rules (CUDA Programming Guide, "CUDA Environment
// Variables"): unset = all; a list of indices, GPU UUIDs or unique UUID prefixes,
// MIG device UUIDs ("MIG-<uuid>", R470+) or the older "MIG-GPU-<uuid>/<gi>/<ci>";
// parsing stops at the first entry that names no device, so "" and "-1" hide
// everything and "0,-1,1" shows only device 0. ROCR_VISIBLE_DEVICES and
// HIP_VISIBLE_DEVICES take indices or "GPU-<hex>" UUIDs (ROCm docs, "GPU isolation
// techniques") with the same stop rule.
std::vector<Pick> visible_order(const std::vector<Found>& found,
                                const std::vector<size_t>& candidates, const Environment& env,
                                const char* variable, bool accept_mig, std::string& note) {
    std::vector<Pick> order;
    auto it = env.find(variable);
    if (it == env.end()) {
        for (auto c : candidates)
            order.push_back({c, found[c].uuid});
        return order;
    }
    note += (note.empty() ? "" : ", ") + std::string(variable) + "=" + it->second;
    if (trim(it->second).empty()) return order;
    for (auto raw : split(it->second, ',')) {
        const std::string token(trim(raw));
        std::optional<Pick> pick;
        if (auto n = parse_u64(token); n && *n < candidates.size()) {
            pick = Pick{candidates[*n], found[candidates[*n]].uuid};
        } else if (accept_mig && token.rfind("MIG-GPU-", 0) == 0) {
            // R450/R460: MIG-GPU-<uuid>/<gi>/<ci>, matched against /proc's MIG devices.
            for (auto c : candidates)
                if (found[c].mig_path == token) pick = Pick{c, token};
            // Instances not visible in /proc (capabilities not mounted through): the
            // parent GPU is enough to know CUDA will show one device.
            const auto slash = token.find('/');
            const std::string parent = token.substr(4, slash == std::string::npos ? 0 : slash - 4);
            if (!pick && slash != std::string::npos)
                for (auto c : candidates)
                    if (!found[c].mig && !parent.empty() && found[c].uuid == parent)
                        pick = Pick{std::nullopt, token};
        } else if (accept_mig && token.rfind("MIG-", 0) == 0 && token.size() > 4) {
            // R470+: MIG-<uuid>. /proc has no MIG UUIDs; CUDA shows it as one device.
            if (!candidates.empty()) pick = Pick{std::nullopt, token};
        } else if (token.rfind("GPU-", 0) == 0) {
            for (auto c : candidates) {
                if (found[c].uuid.empty() || found[c].uuid.rfind(token, 0) != 0) continue;
                if (pick) {  // an ambiguous prefix names no single device
                    pick.reset();
                    break;
                }
                pick = Pick{c, found[c].uuid};
            }
        }
        if (!pick) break;
        bool repeated = std::any_of(order.begin(), order.end(), [&](const Pick& p) {
            return pick->physical ? p.physical == pick->physical : p.uuid == pick->uuid;
        });
        if (repeated) break;
        order.push_back(*pick);
    }
    return order;
}

std::vector<size_t> all_of(const std::vector<Found>& found) {
    std::vector<size_t> v;
    for (size_t i = 0; i < found.size(); ++i)
        v.push_back(i);
    return v;
}

// `hip_base`: for AMD, the devices ROCr shows (HIP_VISIBLE_DEVICES indexes into them).
void append(std::vector<GpuFacts>& out, const std::vector<Found>& found,
            const std::vector<Pick>& order, const std::string& note, const char* vendor,
            const char* unset_variables, const char* runtime,
            const std::vector<size_t>& hip_base = {}) {
    int mig_count = 0;
    for (size_t runtime_index = 0; runtime_index < order.size(); ++runtime_index) {
        const Pick& pick = order[runtime_index];
        GpuFacts g;
        g.vendor = vendor;
        g.index = static_cast<int>(runtime_index);
        g.uuid = pick.uuid;
        std::string where;
        if (pick.physical) {
            const auto& f = found[*pick.physical];
            g.id = std::string(vendor) + std::to_string(*pick.physical);
            g.name = f.name;
            g.device = f.device;
            where = f.where;
            if (g.uuid.empty() && f.mig) g.uuid = f.mig_path;
        } else {
            // A MIG device named only by the variable: on its GPU when there is one.
            g.id = std::string(vendor) + "_mig" + std::to_string(mig_count++);
            size_t gpus = 0;
            for (const auto& f : found)
                if (!f.mig) ++gpus;
            for (const auto& f : found)
                if (gpus == 1 && !f.mig) {
                    g.name = f.name + (f.name.empty() ? "" : " ") + "MIG device";
                    g.device = f.device;
                }
            where = "MIG device " + pick.uuid + " (MIG UUIDs are not in /proc; not checked)";
        }
        if (std::string(vendor) == "nvidia") {
            g.variable = "CUDA_VISIBLE_DEVICES";
            g.visible_as = g.uuid.empty() ? std::to_string(runtime_index) : g.uuid;
        } else if (!g.uuid.empty()) {
            g.variable = "ROCR_VISIBLE_DEVICES";
            g.visible_as = g.uuid;
        } else {
            g.variable = "HIP_VISIBLE_DEVICES";
            auto at = std::find(hip_base.begin(), hip_base.end(), *pick.physical);
            g.visible_as = std::to_string(at - hip_base.begin());
        }
        g.source =
            where + "; " + runtime + " device " + std::to_string(runtime_index) +
            (note.empty() ? " (" + std::string(unset_variables) + " unset)" : " under " + note);
        out.push_back(std::move(g));
    }
}

}  // namespace

std::vector<GpuFacts> probe_gpus(const Host& host, const Environment& env) {
    std::vector<GpuFacts> out;
    const auto nvidia = find_nvidia(host);
    std::string note;
    auto cuda = visible_order(nvidia, all_of(nvidia), env, "CUDA_VISIBLE_DEVICES", true, note);
    append(out, nvidia, cuda, note, "nvidia", "CUDA_VISIBLE_DEVICES", "CUDA");

    // ROCm: ROCR_VISIBLE_DEVICES filters first (ROCr runtime), HIP_VISIBLE_DEVICES
    // then indexes into what ROCr shows (ROCm docs, "GPU isolation techniques").
    const auto amd = find_amd(host);
    note.clear();
    auto rocr = visible_order(amd, all_of(amd), env, "ROCR_VISIBLE_DEVICES", false, note);
    std::vector<size_t> after_rocr;
    for (const auto& p : rocr)
        if (p.physical) after_rocr.push_back(*p.physical);
    auto hip = visible_order(amd, after_rocr, env, "HIP_VISIBLE_DEVICES", false, note);
    append(out, amd, hip, note, "amd", "ROCR_VISIBLE_DEVICES and HIP_VISIBLE_DEVICES", "HIP",
           after_rocr);
    return out;
}

void describe_gpus(std::ostream& out, const std::vector<GpuFacts>& gpus) {
    out << "GPUs:";
    if (gpus.empty()) {
        out << " none visible (looked at " + std::string(kpath::kNvidiaGpus) +
                   ", /dev/nvidia*, "
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
