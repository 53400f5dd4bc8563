#include "runtime/launch_ancestry.hpp"

#include <algorithm>

#include "runtime/records.hpp"

namespace corral::launcher {

const std::vector<proc::ProcessStat>& Ancestry::run_chain() {
    if (!chain_) chain_ = records::run_ancestors(*host_);
    return *chain_;
}

const std::string& Ancestry::run_id() {
    if (!run_id_) run_id_ = records::run_id_of(run_chain());
    return *run_id_;
}

const std::set<pid_t>& Ancestry::own_line() {
    if (line_) return *line_;
    const pid_t self = host_->self_pid();
    std::set<pid_t> line{self};
    const auto& chain = run_chain();
    for (const auto& p : chain)
        line.insert(p.pid);
    // The run id's walk stopped at ctest (or kRunIdDepth): go on from its last.
    pid_t from = chain.empty() ? self : chain.back().pid;
    if (chain.empty() || chain.back().ppid > 0)
        for (const auto& p : proc::ancestors(from, *host_))
            line.insert(p.pid);
    line_ = std::move(line);
    return *line_;
}

std::vector<proc::ProcessStat> stale_test_processes(const std::string& test_id,
                                                    const std::set<pid_t>& spare,
                                                    const Host& host) {
    std::vector<proc::ProcessStat> out;
    if (test_id.empty()) return out;
    const std::string needle = "CORRAL_TEST_ID=" + test_id;
    auto carries = [&](pid_t p) {
        auto env = proc::read_environ(p, host);
        return env && std::find(env->begin(), env->end(), needle) != env->end();
    };
    for (pid_t p : proc::list_pids(host)) {
        if (spare.count(p) || !carries(p)) continue;
        auto info = proc::read_stat(p, host);
        if (!info || !carries(p)) continue;  // gone, or the pid was reused in between
        out.push_back(std::move(*info));
    }
    return out;
}

}  // namespace corral::launcher
