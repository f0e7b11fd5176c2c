#pragma once
// A MetaStore in a temporary folder for the metadata tests (test_store.h: or its PostgreSQL
// database), and a way to write that folder with plain RocksDB first (rows in the store's key
// layout, as an older gateway left them; with PostgreSQL, the restore's raw write).

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/gateway/meta/meta_store.h"
#include "tests/server/gateway/meta/test_store.h"

namespace mosaic::gateway {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "meta_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // (Re)opens the store on the folder.
  void OpenStore() {
    store_.reset();
    auto s = OpenTestStore(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  MetaStore& store() { return *store_; }

  // Writes rows into the folder with plain RocksDB (no transactions), synced; `put(key,
  // value)` inside `fill`.
  using Put = std::function<void(const std::string& key, const std::string& value)>;
  void WriteRaw(const std::function<void(const Put&)>& fill) {
    if (kTestOnPostgres) {  // the same rows, through the restore's raw write
      std::vector<std::pair<std::string, std::string>> rows;
      fill(
          [&](const std::string& key, const std::string& value) { rows.emplace_back(key, value); });
      auto s = OpenTestStore(dir_);
      ASSERT_TRUE(s.ok()) << s.status();
      ASSERT_TRUE((*s)->PutRaw(rows).ok());
      return;
    }
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteOptions w;
    w.sync = true;
    fill([&](const std::string& key, const std::string& value) {
      ASSERT_TRUE(db->Put(w, key, value).ok());
    });
  }

  std::string dir_;
  std::unique_ptr<MetaStore> store_;
};

}  // namespace mosaic::gateway
