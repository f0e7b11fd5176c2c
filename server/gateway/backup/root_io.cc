#include "server/gateway/backup/root_io.h"

#include <memory>
#include <mutex>

#include "common/bytes.h"
#include "common/latch.h"
#include "server/gateway/backup/root.h"

namespace mosaic::gateway {

RootWriteReport WriteRootEverywhere(client::NodePool& pool, const client::KeyRing& ring,
                                    const v1::BackupRoot& root,
                                    const std::function<bool(int)>& holds) {
  int slot = RootSlotOf(root.generation());
  auto sealed = std::make_shared<const std::string>(SealRoot(ring, root, slot));
  struct Shared {
    explicit Shared(int calls) : latch(calls) {}
    Latch latch;
    std::mutex mu;
    RootWriteReport report;
  };
  const int n = pool.size();
  auto shared = std::make_shared<Shared>(n);
  for (int i = 0; i < n; ++i) {
    client::NodeClient* node = &pool.node(i);
    auto id = std::make_shared<const std::string>(RootSlotChunkId(ring, slot, node->id()));
    if (!holds(i)) {
      for (int other = 0; other < kRootSlots; ++other) {
        if (other == slot) continue;
        node->Delete(RootSlotChunkId(ring, other, node->id()), [](absl::StatusOr<bool>) {});
      }
      node->Delete(*id, [shared](absl::StatusOr<bool>) { shared->latch.Done(); });
      continue;
    }
    ++shared->report.nodes;
    auto fail = [shared, node](const absl::Status& s) {
      {
        std::lock_guard lock(shared->mu);
        shared->report.failures.push_back(node->id() + ": " + s.ToString());
      }
      shared->latch.Done();
    };
    node->Delete(*id, [shared, node, id, sealed, fail](absl::StatusOr<bool> deleted) {
      if (!deleted.ok()) return fail(deleted.status());
      node->Put(*id, AsBytes(*sealed), [shared, fail](absl::Status put) {
        if (!put.ok()) return fail(put);
        {
          std::lock_guard lock(shared->mu);
          ++shared->report.written;
        }
        shared->latch.Done();
      });
    });
  }
  shared->latch.Wait();
  std::lock_guard lock(shared->mu);
  return shared->report;
}

RootSearch FindRoots(client::NodePool& pool, const client::KeyRing& ring) {
  struct Shared {
    explicit Shared(int calls) : latch(calls) {}
    Latch latch;
    std::mutex mu;
    RootSearch search;
    std::vector<int> answered;  // slots answered, per node
  };
  auto shared = std::make_shared<Shared>(pool.size() * kRootSlots);
  shared->search.nodes = pool.size();
  shared->answered.assign(pool.size(), 0);
  for (int slot = 0; slot < kRootSlots; ++slot) {
    for (int i = 0; i < pool.size(); ++i) {
      client::NodeClient* node = &pool.node(i);
      node->Get(
          RootSlotChunkId(ring, slot, node->id()), 0, 0,
          [shared, node, i, slot, &ring](absl::StatusOr<std::string> got) {
            {
              std::lock_guard lock(shared->mu);
              if (got.ok() || absl::IsNotFound(got.status())) {
                ++shared->answered[i];
              } else {
                shared->search.failures.push_back(node->id() + ": " + got.status().ToString());
              }
              if (got.ok()) {
                auto root = OpenRoot(ring, *got, slot);
                if (root.ok()) {
                  shared->search.roots.push_back(*std::move(root));
                } else {
                  ++shared->search.unopenable;
                }
              }
            }
            shared->latch.Done();
          });
    }
  }
  shared->latch.Wait();
  std::lock_guard lock(shared->mu);
  for (int a : shared->answered) shared->search.reached += a > 0 ? 1 : 0;
  return shared->search;
}

}  // namespace mosaic::gateway
