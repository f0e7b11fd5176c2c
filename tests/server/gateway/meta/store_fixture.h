#pragma once
// A MetaStore in a temporary folder for the metadata tests, and a way to write that folder
// with plain RocksDB first (rows in the store's key layout, as an older gateway left them).

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "server/gateway/meta/meta_store.h"

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
    auto s = MetaStore::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  MetaStore& store() { return *store_; }

  // Writes rows into the folder with plain RocksDB (no transactions), synced; `put(key,
  // value)` inside `fill`.
  using Put = std::function<void(const std::string& key, const std::string& value)>;
  void WriteRaw(const std::function<void(const Put&)>& fill) {
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
