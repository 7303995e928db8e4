#include "polympc/mpc/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "polympc/mpc/errors.h"

namespace polympc::mpc {
namespace {

std::string sys_error() { return std::strerror(errno); }

}  // namespace

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

std::string temp_path_beside(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

void rename_durably(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = sys_error();
    ::unlink(tmp.c_str());
    throw Error("rename from '" + tmp + "' to '" + path + "' failed: " + err);
  }
  const int dfd = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomically(const std::string& path, const std::string& bytes, unsigned mode) {
  const std::string tmp = temp_path_beside(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) throw Error("cannot create '" + tmp + "': " + sys_error());
  const auto fail = [&](const std::string& what) {
    const std::string err = sys_error();
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(what + " '" + tmp + "' failed: " + err);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write to");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync of");
  if (::close(fd) != 0) {
    const std::string err = sys_error();
    ::unlink(tmp.c_str());
    throw Error("close of '" + tmp + "' failed: " + err);
  }
  rename_durably(tmp, path);
}

}  // namespace polympc::mpc
