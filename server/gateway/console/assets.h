#pragma once
// The console's front end (server/gateway/console/web/), embedded in the binary at build
// time (cmake/embed_assets.cmake writes console_assets.cc in the build tree).

#include <string_view>

namespace mosaic::gateway::console {

struct Asset {
  std::string_view path;  // "/index.html", "/app.js", …
  std::string_view content_type;
  std::string_view bytes;
};

// The asset served at `path`, or nullptr.
const Asset* FindAsset(std::string_view path);

}  // namespace mosaic::gateway::console
