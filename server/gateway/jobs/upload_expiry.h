#pragma once
// The multipart upload expiry job: aborts uploads left incomplete for longer than the
// configured expiry (GatewayConfig::multipart_expiry), so that abandoned parts do not hold
// storage forever. Aborting queues the parts' data on the deletion queue (MetaStore), which
// the Deleter empties.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "server/gateway/meta/meta_store.h"

namespace mosaic::gateway {

class UploadExpiry {
 public:
  // `on_aborted` (optional) runs after a pass that aborted uploads (to wake the Deleter).
  // Does not start the thread. `meta` must outlive the job.
  UploadExpiry(MetaStore& meta, std::chrono::milliseconds expiry,
               std::function<void()> on_aborted = nullptr);
  ~UploadExpiry();  // Stop()s
  // Starts the worker thread: a pass every minute, and on Poke.
  void Start();
  // Stops and joins the thread; idempotent.
  void Stop();
  void Poke();
  // One pass on the calling thread: aborts every upload initiated before now_ms - expiry.
  // Returns how many were aborted. Errors are logged, not returned (the next pass retries).
  size_t RunOnce(int64_t now_ms);

 private:
  MetaStore& meta_;
  const std::chrono::milliseconds expiry_;
  const std::function<void()> on_aborted_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool poked_ = false;
  std::thread thread_;
};

}  // namespace mosaic::gateway
