#include "common/thread_name.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/thread_pool.h"

namespace mosaic {
namespace {

TEST(ThreadNameTest, NamesTheCallingThreadCuttingAt15Bytes) {
  std::thread t([] {
    SetCurrentThreadName("repair-stripe");
    EXPECT_EQ(CurrentThreadName(), "repair-stripe");
    SetCurrentThreadName("a-name-longer-than-fifteen");
    EXPECT_EQ(CurrentThreadName(), "a-name-longer-t");
  });
  t.join();
}

TEST(ThreadNameTest, ThreadPoolThreadsCarryThePoolsName) {
  ThreadPool pool(2, "pipeline");
  std::promise<std::string> first;
  std::promise<std::string> second;
  pool.Submit([&] { first.set_value(CurrentThreadName()); });
  pool.Submit([&] { second.set_value(CurrentThreadName()); });
  EXPECT_EQ(first.get_future().get(), "pipeline");
  EXPECT_EQ(second.get_future().get(), "pipeline");
}

}  // namespace
}  // namespace mosaic
