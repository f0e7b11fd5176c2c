#pragma once
// Deleting a node from the gateway's config file (`mosaic node forget`), as text, so that the
// operator's comments and layout stay as they were. Pure; thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace mosaic::gateway {

// `toml_text` without the [[node]] table whose id is `node_id`: the lines from its header to
// the next table header (or the end). nullopt when no [[node]] table has that id. Only the
// forms the gateway's own writers use are recognised: `[[node]]` alone on its line and
// `id = "…"` (basic or literal string) inside it.
std::optional<std::string> WithoutNode(std::string_view toml_text, std::string_view node_id);

}  // namespace mosaic::gateway
