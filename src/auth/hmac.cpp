#include "auth/hmac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

namespace tacos::auth {

namespace {

constexpr std::size_t kBlock = 64;  // SHA-256's block size

using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

const EVP_MD* sha256() {
  // Fetched once: OpenSSL 3 looks an algorithm up again on every call that names it.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (!md) throw std::runtime_error("OpenSSL has no SHA-256");
  return md;
}

void check(int ok) {
  if (ok != 1) throw std::runtime_error("SHA-256 failed");
}

}  // namespace

struct HmacSha256Key::Pads {
  MdCtx inner{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  MdCtx outer{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

std::string hmac_sha256(std::string_view key, std::string_view data) {
  auto m = HmacSha256Key(key).mac(data);
  return std::string(HmacSha256Key::bytes(m));
}

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// RFC 2104: a key longer than a block is hashed first; then H((K ^ opad) || H((K ^ ipad) || m)).
HmacSha256Key::HmacSha256Key(std::string_view key) {
  auto pads = std::make_shared<Pads>();
  if (!pads->inner || !pads->outer) throw std::runtime_error("out of memory");
  unsigned char k[kBlock] = {};
  if (key.size() > kBlock) {
    unsigned int n = 0;
    check(EVP_Digest(key.data(), key.size(), k, &n, sha256(), nullptr));
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  unsigned char ipad[kBlock], opad[kBlock];
  for (std::size_t i = 0; i < kBlock; ++i) {
    ipad[i] = static_cast<unsigned char>(k[i] ^ 0x36);
    opad[i] = static_cast<unsigned char>(k[i] ^ 0x5c);
  }
  check(EVP_DigestInit_ex2(pads->inner.get(), sha256(), nullptr));
  check(EVP_DigestUpdate(pads->inner.get(), ipad, kBlock));
  check(EVP_DigestInit_ex2(pads->outer.get(), sha256(), nullptr));
  check(EVP_DigestUpdate(pads->outer.get(), opad, kBlock));
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
  pads_ = std::move(pads);
}

HmacSha256Key::Mac HmacSha256Key::mac(std::initializer_list<std::string_view> parts) const {
  // Each thread continues from a copy of the shared pad states in its own context.
  thread_local MdCtx work(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!work) throw std::runtime_error("out of memory");
  unsigned char inner[kMacBytes];
  unsigned int n = 0;
  check(EVP_MD_CTX_copy_ex(work.get(), pads_->inner.get()));
  for (auto p : parts) check(EVP_DigestUpdate(work.get(), p.data(), p.size()));
  check(EVP_DigestFinal_ex(work.get(), inner, &n));
  Mac out;
  check(EVP_MD_CTX_copy_ex(work.get(), pads_->outer.get()));
  check(EVP_DigestUpdate(work.get(), inner, sizeof inner));
  check(EVP_DigestFinal_ex(work.get(), out.data(), &n));
  return out;
}

bool HmacSha256Key::verify(std::string_view data, std::string_view expected) const {
  auto m = mac(data);
  return equal_ct(bytes(m), expected);
}

}  // namespace tacos::auth
