#include "probe/probe.hpp"

#include <ostream>

#include "corral_version.hpp"

extern char** environ;

namespace corral {

Environment current_environment() {
    Environment env;
    for (char** e = environ; e && *e; ++e) {
        std::string kv = *e;
        auto eq = kv.find('=');
        if (eq == std::string::npos) continue;
        env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
    return env;
}

Facts probe(const ProbeOptions& options) {
    auto host_owner = make_host(options.root);
    const Host& host = *host_owner;
    Facts f;
    f.corral_version = kCorralVersion;
    f.root = options.root;
    // One snapshot of the cgroup and mount tables for every area.
    const auto tables = read_cgroup_tables(host);
    const auto* mounts = tables.mounts.empty() ? nullptr : &tables.mounts;
    f.cpu = probe_cpu(host, tables);
    f.memory = probe_memory(host, tables);
    f.scratch = probe_scratch(host, options, mounts);
    f.gpus = probe_gpus(host, options.env);
    f.context = probe_context(host, options.env, mounts);
    return f;
}

void describe_facts(std::ostream& out, const Facts& f) {
    out << "corral " << f.corral_version << " probe";
    if (f.root != "/") out << " (recorded root " << f.root << ")";
    out << "\n\n";
    describe_cpu(out, f.cpu);
    out << "\n";
    describe_memory(out, f.memory);
    out << "\n";
    describe_scratch(out, f.scratch);
    out << "\n";
    describe_gpus(out, f.gpus);
    out << "\n";
    describe_context(out, f.context);
}

}  // namespace corral
