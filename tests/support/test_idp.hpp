#pragma once
// A pretend identity provider for tests: fresh RSA-2048 / P-256 key pairs, their JWKS entries,
// and RS256 / ES256 tokens signed with them (OpenSSL 3 EVP, no deprecated calls).

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "auth/jwt.hpp"
#include "common/encoding.hpp"

namespace tacos::test {

class TestKey {
 public:
  /// "RS256" makes an RSA-2048 key, "ES256" a P-256 key.
  TestKey(std::string kid, std::string alg) : kid_(std::move(kid)), alg_(std::move(alg)) {
    EVP_PKEY* k = alg_ == "RS256" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))
                                  : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    if (!k) throw std::runtime_error("key generation failed");
    pkey_.reset(k);
  }

  const std::string& kid() const { return kid_; }
  const std::string& alg() const { return alg_; }

  /// The public JWK, with `alg` and `use` unless told otherwise.
  nlohmann::json jwk(bool with_alg = true) const {
    nlohmann::json j{{"kid", kid_}, {"use", "sig"}};
    if (with_alg) j["alg"] = alg_;
    if (alg_ == "RS256") {
      j["kty"] = "RSA";
      j["n"] = base64url_encode(bn_param(OSSL_PKEY_PARAM_RSA_N));
      j["e"] = base64url_encode(bn_param(OSSL_PKEY_PARAM_RSA_E));
    } else {
      unsigned char pub[65];
      size_t len = 0;
      if (EVP_PKEY_get_octet_string_param(pkey_.get(), OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &len) != 1 ||
          len != 65) {
        throw std::runtime_error("cannot export EC point");
      }
      j["kty"] = "EC";
      j["crv"] = "P-256";
      j["x"] = base64url_encode(std::string(reinterpret_cast<char*>(pub) + 1, 32));
      j["y"] = base64url_encode(std::string(reinterpret_cast<char*>(pub) + 33, 32));
    }
    return j;
  }

  /// The public key as PEM (what an attacker would HMAC with in an algorithm-confusion attempt).
  std::string public_pem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PUBKEY(bio.get(), pkey_.get());
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  }

  /// A compact JWS over `payload`; `header` fields override {alg, typ, kid}.
  std::string sign(const nlohmann::json& payload, const nlohmann::json& header = nlohmann::json::object()) const {
    nlohmann::json h{{"alg", alg_}, {"typ", "JWT"}, {"kid", kid_}};
    h.update(header);
    std::string input = base64url_encode(h.dump()) + "." + base64url_encode(payload.dump());
    return input + "." + base64url_encode(signature(input));
  }

  /// Raw JOSE signature of `input` (RS256: PKCS#1 v1.5; ES256: r || s).
  std::string signature(const std::string& input) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    size_t len = 0;
    if (EVP_DigestSignInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, pkey_.get(), nullptr) != 1 ||
        EVP_DigestSign(md.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) !=
            1) {
      throw std::runtime_error("sign failed");
    }
    std::string sig(len, '\0');
    if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      throw std::runtime_error("sign failed");
    }
    sig.resize(len);
    if (alg_ == "RS256") return sig;
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)),
                                                             ECDSA_SIG_free);
    if (!es) throw std::runtime_error("bad DER signature");
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es.get()), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es.get()), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    return raw;
  }

 private:
  std::string bn_param(const char* name) const {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(pkey_.get(), name, &bn) != 1) throw std::runtime_error("cannot export key");
    std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    BN_free(bn);
    return out;
  }

  struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  };
  std::string kid_;
  std::string alg_;
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey_;
};

/// {"keys": [...]} of the given keys' public halves.
inline std::string jwks_of(const std::vector<const TestKey*>& keys) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto* k : keys) arr.push_back(k->jwk());
  return nlohmann::json{{"keys", arr}}.dump();
}

/// An HS256 token keyed with `secret`, carrying `header` fields on top of {alg: HS256}.
inline std::string hs256_token(const std::string& secret, const nlohmann::json& payload,
                               const nlohmann::json& header = nlohmann::json::object()) {
  nlohmann::json h{{"alg", "HS256"}, {"typ", "JWT"}};
  h.update(header);
  std::string input = base64url_encode(h.dump()) + "." + base64url_encode(payload.dump());
  return input + "." + base64url_encode(auth::hmac_sha256(secret, input));
}

/// A token with `alg: none` and an empty signature.
inline std::string unsigned_token(const nlohmann::json& payload,
                                  const nlohmann::json& header = nlohmann::json::object()) {
  nlohmann::json h{{"alg", "none"}, {"typ", "JWT"}};
  h.update(header);
  return base64url_encode(h.dump()) + "." + base64url_encode(payload.dump()) + ".";
}

}  // namespace tacos::test
