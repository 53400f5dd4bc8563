// The one writer of output files: temporary file in the same directory, fsync,
// rename, fsync of the directory. Killing the process at any moment leaves the
// destination either as it was or complete.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace corral {

// How long the file must survive. Disk: the file and the directory entry are
// fsync(2)ed, so a machine crash leaves the old or the new file (outputs a
// person keeps). Process: rename(2) only, atomic against a killed process but
// not a crash; for state about running processes, which a crash ends anyway
// (the launcher's scratch registry). fsync costs ~1.5 ms per file on this
// host's ext4 (bench/run_overhead/README.md), paid by every test launch.
enum class Durability { Disk, Process };

// A symlink is followed (its target is replaced, the link stays); an
// existing device, FIFO or socket is written through, not replaced (a
// `--junit /dev/stdout` reaches the terminal, `/dev/full` fails with ENOSPC);
// a directory is an error (EISDIR).
// Throws std::system_error naming the path on failure; the temporary is removed.
void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           unsigned mode = 0644, Durability durability = Durability::Disk);

}  // namespace corral
