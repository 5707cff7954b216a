#include "roles/gateway/static_files.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/encoding.hpp"

namespace tacos::gateway {

namespace fs = std::filesystem;

std::string_view content_type_for(std::string_view path) {
  auto dot = path.rfind('.');
  auto ext = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

StaticFiles::StaticFiles(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return;
  std::size_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    File f;
    f.body = ss.str();
    total += f.body.size();
    if (total > 64u * 1024 * 1024) throw std::runtime_error("web.dir holds more than 64 MiB");
    std::string url = "/" + fs::relative(entry.path(), root).generic_string();
    f.content_type = std::string(content_type_for(url));
    char tag[24];
    std::snprintf(tag, sizeof tag, "\"%016llx\"", static_cast<unsigned long long>(fnv1a64(f.body)));
    f.etag = tag;
    f.cache_control = url.rfind("/assets/", 0) == 0 ? "public, max-age=31536000, immutable" : "no-cache";
    files_.emplace(std::move(url), std::move(f));
  }
}

net::Response StaticFiles::serve(const net::Request& req) const {
  auto it = files_.find(req.path);
  if (req.path == "/" || (it == files_.end() && !req.path.starts_with("/api/") && !req.path.starts_with("/assets/"))) {
    it = files_.find("/index.html");
  }
  if (it == files_.end()) return net::error_response(Error(Errc::not_found, "no route for " + req.path), req.trace_id);
  auto res = net::conditional(req, it->second.body, it->second.etag, it->second.cache_control);
  res.content_type = it->second.content_type;
  return res;
}

}  // namespace tacos::gateway
