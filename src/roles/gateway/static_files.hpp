#pragma once
// Serves the built web UI (web/dist) from memory: files are read once at start-up.
// index.html is never cached by browsers (it names the current assets); files under assets/
// carry a content hash in their names and are cached for a year. Paths that are not files get
// index.html, so the single-page app's own routes work on reload; /api/ paths never do.
// Immutable after construction; thread-safe.

#include <filesystem>
#include <map>
#include <string>

#include "net/http.hpp"

namespace tacos::gateway {

class StaticFiles {
 public:
  /// Loads every regular file under `root` (at most 64 MiB in all). Empty when root is missing.
  explicit StaticFiles(const std::filesystem::path& root);
  bool empty() const { return files_.empty(); }
  std::size_t size() const { return files_.size(); }
  net::Response serve(const net::Request& req) const;

 private:
  struct File {
    std::string body;
    std::string content_type;
    std::string etag;
    std::string cache_control;
  };
  std::map<std::string, File, std::less<>> files_;  // by URL path, e.g. "/assets/app-1a2b.js"
};

std::string_view content_type_for(std::string_view path);

}  // namespace tacos::gateway
