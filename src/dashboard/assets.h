// The dashboard's static files, embedded at build time (cmake/embed_assets.cmake writes
// dashboard_assets.cc from the web/dashboard build). Threading: constant data.
#pragma once

#include <cstddef>
#include <string_view>

namespace ramjet::dashboard {

struct Asset {
  std::string_view path;  // "/index.html", "/assets/app.js", ...
  std::string_view content_type;
  std::string_view data;
};

// nullptr when no file has that path.
const Asset* FindAsset(std::string_view path);

}  // namespace ramjet::dashboard
