// Durable, atomic file replacement for the files whose integrity matters (the material
// ledger, preprocessing files, architecture files): a crash leaves the old file or the new
// one, never a mix. POSIX: write a temporary file beside the target, fsync, rename, fsync
// the directory. Errors: polympc::Error naming the path and the system error.
#pragma once
#include <string>

namespace polympc::mpc {

/// The directory part of `path` ("." when it has none).
std::string directory_of(const std::string& path);
/// A temporary path beside `path`, unique to this process and call ("<path>.tmp-<pid>-<k>").
std::string temp_path_beside(const std::string& path);
/// Replaces `path` by `bytes` atomically and durably; the file is created with `mode`
/// (before the umask). On failure the temporary file is removed and `path` is unchanged.
void write_file_atomically(const std::string& path, const std::string& bytes, unsigned mode);
/// Renames a complete, fsynced `tmp` over `path`, then fsyncs the directory. On failure
/// `tmp` is removed.
void rename_durably(const std::string& tmp, const std::string& path);

}  // namespace polympc::mpc
