// The one whole-file reader, and the Read<T> result every host read returns.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace corral {

// A value read from the host, or the reason it could not be read.
template <typename T>
struct Read {
    std::optional<T> value;
    std::string error;  // empty when value is set
    int err = 0;        // errno of the failing call when there was one (EACCES, ENOENT), else 0

    explicit operator bool() const { return value.has_value(); }
    const T& operator*() const { return *value; }
    const T* operator->() const { return &*value; }
    static Read ok(T v) { return Read{std::move(v), {}, 0}; }
    static Read fail(std::string why, int errno_value = 0) {
        return Read{std::nullopt, std::move(why), errno_value};
    }
};

// The one whole-file reader: open(2) and read(2) until end of file, retrying
// EINTR, errno captured at the call that failed (std::ifstream leaves errno
// unspecified, so strerror(errno) after it can say "Success"). The error is
// the strerror text alone ("No such file or directory", "Is a directory") and
// `err` the errno; callers add the path and what the file was for.
Read<std::string> read_file(const std::filesystem::path& path);

}  // namespace corral
