#include "auth/keyring_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/encoding.hpp"
#include "common/ids.hpp"

namespace tacos::auth {
namespace {

Error file_error(const std::string& path, const std::string& what) {
  return Error(Errc::internal, "token keyring " + path + ": " + what);
}

Status write_new(const std::string& path, const std::string& text) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return file_error(tmp, std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return file_error(path, std::strerror(err));
  }
  return {};
}

}  // namespace

Result<std::vector<SigningKey>> load_or_create_keyring(const std::string& path, const std::string& new_key_id) {
  std::ifstream in(path);
  if (!in) {
    if (errno != ENOENT) return file_error(path, std::strerror(errno));
    SigningKey key{new_key_id, base64url_encode(random_bytes(32))};
    std::string text =
        "# Waiting-room token keys, made by tacos: kid:secret items, the first signs and all verify.\n"
        "# To rotate, put a new key first and keep the old one until its tokens have expired.\n" +
        key.id + ":" + key.secret + "\n";
    if (auto st = write_new(path, text); !st) return st.error();
    return std::vector<SigningKey>{key};
  }
  std::string ring, line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    ring += (ring.empty() ? "" : ",") + line;
  }
  auto keys = TokenSigner::parse_keyring(ring);
  if (!keys) return file_error(path, keys.error().message);
  return keys;
}

}  // namespace tacos::auth
