// The one writer of output files: temporary file in the same directory, fsync,
// rename, fsync of the directory. Killing the process at any moment leaves the
// destination either as it was or complete.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace corral {

// Throws std::system_error naming the path on failure; the temporary is removed.
void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           unsigned mode = 0644);

}  // namespace corral
