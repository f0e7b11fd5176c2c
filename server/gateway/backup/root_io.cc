#include "server/gateway/backup/root_io.h"

#include <memory>
#include <mutex>

#include "common/bytes.h"
#include "common/latch.h"
#include "server/gateway/backup/root.h"

namespace mosaic::gateway {
namespace {

// What the callbacks of one fan-out to the nodes share: a latch for its `calls` answers, and
// the result with a count per node, under `mu`.
template <typename Value>
struct FanOut {
  explicit FanOut(int calls) : latch(calls) {}
  Latch latch;
  std::mutex mu;
  Value value;
  std::vector<int> per_node;
};

}  // namespace

RootWriteReport WriteRootEverywhere(client::NodePool& pool, const client::KeyRing& ring,
                                    const v1::BackupRoot& root,
                                    const std::function<bool(int)>& holds) {
  int slot = RootSlotOf(root.generation());
  auto sealed = std::make_shared<const std::string>(SealRoot(ring, root, slot));
  const int n = pool.size();
  auto shared = std::make_shared<FanOut<RootWriteReport>>(n);
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
    ++shared->value.nodes;
    auto fail = [shared, node](const absl::Status& s) {
      {
        std::lock_guard lock(shared->mu);
        shared->value.failures.push_back(node->id() + ": " + s.ToString());
      }
      shared->latch.Done();
    };
    node->Delete(*id, [shared, node, id, sealed, fail](absl::StatusOr<bool> deleted) {
      if (!deleted.ok()) return fail(deleted.status());
      node->Put(*id, AsBytes(*sealed), [shared, fail](absl::Status put) {
        if (!put.ok()) return fail(put);
        {
          std::lock_guard lock(shared->mu);
          ++shared->value.written;
        }
        shared->latch.Done();
      });
    });
  }
  shared->latch.Wait();
  std::lock_guard lock(shared->mu);
  return shared->value;
}

RootWriteReport DeleteRootsEverywhere(client::NodePool& pool, const client::KeyRing& ring) {
  auto shared = std::make_shared<FanOut<RootWriteReport>>(pool.size() * kRootSlots);
  shared->value.nodes = pool.size();
  shared->per_node.assign(pool.size(), 0);
  for (int i = 0; i < pool.size(); ++i) {
    client::NodeClient* node = &pool.node(i);
    for (int slot = 0; slot < kRootSlots; ++slot) {
      node->Delete(
          RootSlotChunkId(ring, slot, node->id()), [shared, node, i](absl::StatusOr<bool> deleted) {
            {
              std::lock_guard lock(shared->mu);
              if (!deleted.ok() && shared->per_node[i]++ == 0) {
                shared->value.failures.push_back(node->id() + ": " + deleted.status().ToString());
              }
            }
            shared->latch.Done();
          });
    }
  }
  shared->latch.Wait();
  std::lock_guard lock(shared->mu);
  for (int f : shared->per_node) shared->value.written += f == 0 ? 1 : 0;
  return shared->value;
}

RootSearch FindRoots(client::NodePool& pool, const client::KeyRing& ring) {
  auto shared = std::make_shared<FanOut<RootSearch>>(pool.size() * kRootSlots);
  shared->value.nodes = pool.size();
  shared->per_node.assign(pool.size(), 0);
  for (int slot = 0; slot < kRootSlots; ++slot) {
    for (int i = 0; i < pool.size(); ++i) {
      client::NodeClient* node = &pool.node(i);
      node->Get(RootSlotChunkId(ring, slot, node->id()), 0, 0,
                [shared, node, i, slot, &ring](absl::StatusOr<std::string> got) {
                  {
                    std::lock_guard lock(shared->mu);
                    if (got.ok() || absl::IsNotFound(got.status())) {
                      ++shared->per_node[i];
                    } else {
                      shared->value.failures.push_back(node->id() + ": " + got.status().ToString());
                    }
                    if (got.ok()) {
                      auto root = OpenRoot(ring, *got, slot);
                      if (root.ok()) {
                        shared->value.roots.push_back(*std::move(root));
                      } else {
                        ++shared->value.unopenable;
                      }
                    }
                  }
                  shared->latch.Done();
                });
    }
  }
  shared->latch.Wait();
  std::lock_guard lock(shared->mu);
  for (int a : shared->per_node) shared->value.reached += a > 0 ? 1 : 0;
  return shared->value;
}

}  // namespace mosaic::gateway
