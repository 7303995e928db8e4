// In-process channel pair (channel.h): two Channel ends for two threads of one process.
//
// Each direction is a FIFO of whole message buffers guarded by one mutex and condition
// variable shared by both ends. A write copies the caller's bytes into a fresh buffer
// (outside the lock) and moves it into the queue, so it never blocks on the reader. A
// read moves whole buffers out of the queue under the lock and copies from them outside
// it, so MB-sized messages cost one memcpy per side and no per-byte work. When one end
// is destroyed it marks itself closed; the other end drains what was already written
// and then throws ChannelError instead of waiting forever.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "polympc/mpc/channel.h"

namespace polympc::mpc {
namespace {

using Buffer = std::vector<uint8_t>;

/// State shared by the two ends. queue[i] carries bytes written by end i.
struct InprocShared {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Buffer> queue[2];
  bool closed[2] = {false, false};
};

class InprocChannel final : public Channel {
 public:
  InprocChannel(std::shared_ptr<InprocShared> shared, int self)
      : shared_(std::move(shared)), self_(self), peer_(1 - self) {}

  ~InprocChannel() override {
    {
      std::lock_guard<std::mutex> lk(shared_->mu);
      shared_->closed[self_] = true;
      // Bytes the peer wrote to us will never be read: free them now.
      shared_->queue[peer_].clear();
    }
    shared_->cv.notify_all();
  }

 protected:
  void write_raw(const void* data, size_t n) override {
    if (n == 0) return;
    const auto* p = static_cast<const uint8_t*>(data);
    Buffer buf(p, p + n);  // copy outside the lock
    {
      std::lock_guard<std::mutex> lk(shared_->mu);
      if (shared_->closed[peer_])
        throw ChannelError("in-process channel: peer closed (P" + std::to_string(peer_) +
                           " end destroyed) while P" + std::to_string(self_) + " was writing " +
                           std::to_string(n) + " bytes");
      shared_->queue[self_].push_back(std::move(buf));
    }
    shared_->cv.notify_all();
  }

  void read_raw(void* data, size_t n) override {
    auto* out = static_cast<uint8_t*>(data);
    size_t got = 0;
    while (got < n) {
      if (cur_off_ == cur_.size()) {
        // Current buffer used up: take the next one from the peer's queue.
        std::unique_lock<std::mutex> lk(shared_->mu);
        auto& q = shared_->queue[peer_];
        shared_->cv.wait(lk, [&] { return !q.empty() || shared_->closed[peer_]; });
        if (q.empty())
          throw ChannelError("in-process channel: peer closed (P" + std::to_string(peer_) +
                             " end destroyed) while P" + std::to_string(self_) +
                             " was reading " + std::to_string(n) + " bytes (got " +
                             std::to_string(got) + ")");
        cur_ = std::move(q.front());
        q.pop_front();
        cur_off_ = 0;
        continue;
      }
      size_t k = std::min(n - got, cur_.size() - cur_off_);
      std::memcpy(out + got, cur_.data() + cur_off_, k);
      got += k;
      cur_off_ += k;
    }
    if (cur_off_ == cur_.size()) {
      // Release a fully consumed (possibly large) buffer early.
      Buffer().swap(cur_);
      cur_off_ = 0;
    }
  }

 private:
  std::shared_ptr<InprocShared> shared_;
  int self_, peer_;
  Buffer cur_;          ///< buffer being consumed by read_raw (owned by the reader)
  size_t cur_off_ = 0;  ///< bytes of cur_ already consumed
};

}  // namespace

std::pair<std::unique_ptr<Channel>, std::unique_ptr<Channel>> make_inproc_pair() {
  auto shared = std::make_shared<InprocShared>();
  return {std::make_unique<InprocChannel>(shared, 0), std::make_unique<InprocChannel>(shared, 1)};
}

}  // namespace polympc::mpc
