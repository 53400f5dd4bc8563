// The AF_UNIX path limit, and the one rule for how much of it a directory
// leaves to the sockets tests create inside it. unix(7): sun_path is 108 bytes
// on Linux, including the terminating NUL, so a socket <name> directly inside
// <dir> needs strlen(dir) + 1 ('/') + strlen(name) + 1 (NUL) <= 108.
#pragma once

#include <string_view>

namespace corral {

inline constexpr int kSunPathBytes = 108;

// The policy default (scratch.socket_headroom / CORRAL_SOCKET_HEADROOM): what
// `corral run` adds below a scratch root ("/c-<id>", 11 bytes) plus a typical
// socket name (~20 bytes), with some room. docs/policy.md.
inline constexpr int kDefaultSocketHeadroom = 40;

// Bytes left for a socket name directly inside `dir` (may be negative).
inline int socket_headroom(std::string_view dir) {
    return kSunPathBytes - static_cast<int>(dir.size()) - 2;
}

}  // namespace corral
