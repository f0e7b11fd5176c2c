// Deleting a node's [[node]] table from the gateway's config text (mosaic node forget).

#include "server/gateway/node_list_edit.h"

#include <gtest/gtest.h>

namespace mosaic::gateway {
namespace {

constexpr const char* kConfig =
    "listen = \"127.0.0.1:9000\"\n"
    "# the providers\n"
    "[erasure]\nk = 4\nm = 2\n"
    "[[node]]\nid = \"a-1\"\nprovider = \"a\"\n\n"
    "[[node]]\n  id = 'b-1'  # gone\nprovider = \"b\"\n"
    "[[node]]\nid = \"c-1\"\nprovider = \"c\"\n";

TEST(NodeListEditTest, DeletesOnlyTheNamedNodesTable) {
  auto edited = WithoutNode(kConfig, "b-1");
  ASSERT_TRUE(edited.has_value());
  EXPECT_EQ(*edited,
            "listen = \"127.0.0.1:9000\"\n# the providers\n[erasure]\nk = 4\nm = 2\n"
            "[[node]]\nid = \"a-1\"\nprovider = \"a\"\n\n"
            "[[node]]\nid = \"c-1\"\nprovider = \"c\"\n");
}

TEST(NodeListEditTest, LastTableWithoutTrailingNewline) {
  auto edited = WithoutNode("[[node]]\nid = \"a-1\"\n[[node]]\nid = \"c-1\"", "c-1");
  ASSERT_TRUE(edited.has_value());
  EXPECT_EQ(*edited, "[[node]]\nid = \"a-1\"\n");
}

TEST(NodeListEditTest, UnknownIdOrAPrefixOfOneChangesNothing) {
  EXPECT_FALSE(WithoutNode(kConfig, "d-1").has_value());
  EXPECT_FALSE(WithoutNode(kConfig, "a").has_value());
  // An id outside a [[node]] table is not a node's.
  EXPECT_FALSE(WithoutNode("id = \"x\"\n[erasure]\nk = 4\n", "x").has_value());
}

}  // namespace
}  // namespace mosaic::gateway
