// The scrub findings table (meta/tables/scrub_findings.h): rows kept in time order across a
// reopen of the store, bounded by Trim to the newest. Runs on RocksDB and, in
// gateway_meta_pg_test, on PostgreSQL.

#include "server/gateway/meta/tables/scrub_findings.h"

#include <gtest/gtest.h>

#include "tests/server/gateway/meta/store_fixture.h"

namespace mosaic::gateway {
namespace {

v1::ScrubFindingRecord Finding(int64_t time_ms, uint64_t stripe) {
  v1::ScrubFindingRecord r;
  r.set_time_ms(time_ms);
  r.set_source("deep scrub");
  r.set_problem("missing");
  r.set_node_id("coop-a-1");
  r.set_piece_id(std::string("piece\0id", 8));
  r.set_stripe(stripe);
  r.set_shard(int32_t(stripe % 6));
  return r;
}

class ScrubFindingsTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    OpenStore();
  }
  // Appends findings for stripes [from, to) at one millisecond each, then trims to `keep`.
  void Add(uint64_t from, uint64_t to, size_t keep) {
    ASSERT_TRUE(store()
                    .backend()
                    .Run([&](meta::Transaction& t) -> absl::Status {
                      for (uint64_t s = from; s < to; ++s) {
                        RETURN_IF_ERROR(meta::scrub_findings::Append(t, Finding(1000 + s, s)));
                      }
                      return meta::scrub_findings::Trim(t, keep).status();
                    })
                    .ok());
  }
  std::vector<uint64_t> Stripes(size_t limit) {
    auto t = store().backend().Snapshot();
    auto rows = meta::scrub_findings::Newest(*t, limit);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<uint64_t> out;
    if (rows.ok()) {
      for (const auto& r : *rows) out.push_back(r.stripe());
    }
    return out;
  }
};

TEST_F(ScrubFindingsTest, FindingsSurviveAReopenOldestFirst) {
  Add(0, 3, 10);
  OpenStore();  // the gateway restarts
  EXPECT_EQ(Stripes(10), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(Stripes(2), (std::vector<uint64_t>{1, 2}));
  auto t = store().backend().Snapshot();
  auto rows = meta::scrub_findings::Newest(*t, 1);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->at(0).piece_id(), std::string("piece\0id", 8));
  EXPECT_EQ(rows->at(0).problem(), "missing");
  EXPECT_EQ(rows->at(0).time_ms(), 1002);
}

TEST_F(ScrubFindingsTest, TrimKeepsTheNewestOnly) {
  Add(0, 5, 4);
  EXPECT_EQ(Stripes(100), (std::vector<uint64_t>{1, 2, 3, 4}));
  Add(5, 12, 4);
  EXPECT_EQ(Stripes(100), (std::vector<uint64_t>{8, 9, 10, 11}));
  // Findings of one millisecond keep the order they were added in.
  ASSERT_TRUE(store()
                  .backend()
                  .Run([&](meta::Transaction& t) -> absl::Status {
                    RETURN_IF_ERROR(meta::scrub_findings::Append(t, Finding(5000, 100)));
                    RETURN_IF_ERROR(meta::scrub_findings::Append(t, Finding(5000, 101)));
                    return meta::scrub_findings::Trim(t, 3).status();
                  })
                  .ok());
  EXPECT_EQ(Stripes(100), (std::vector<uint64_t>{11, 100, 101}));
}

}  // namespace
}  // namespace mosaic::gateway
