// HMAC, constant-time comparison, base64url and RS256 JWTs, checked against
// published vectors and against OpenSSL's own verification.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>

#include "connectors/auth/crypto.hpp"
#include "connectors/http/outbound.hpp"

namespace portcullis::connectors {
namespace {

TEST(Crypto, HmacSha256MatchesRfc4231TestCase2) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "ab"));
  EXPECT_TRUE(constant_time_equals("", ""));
}

TEST(Crypto, Base64UrlHasNoPaddingAndUrlAlphabet) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

std::string generate_rsa_pem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

TEST(Crypto, Rs256JwtVerifiesWithThePublicKey) {
  const std::string pem = generate_rsa_pem();
  auto jwt = sign_jwt_rs256({{"iss", "svc@example.iam"}, {"exp", 1700000000}}, pem, "key-1");
  ASSERT_TRUE(jwt.ok()) << jwt.error().message;
  const auto first = jwt->find('.');
  const auto second = jwt->find('.', first + 1);
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(jwt->substr(0, first), base64url_encode(R"({"alg":"RS256","kid":"key-1","typ":"JWT"})"));
  EXPECT_EQ(jwt->substr(first + 1, second - first - 1), base64url_encode(R"({"exp":1700000000,"iss":"svc@example.iam"})"));

  // Decode the signature and verify it with the key's public half.
  std::string signature_b64 = jwt->substr(second + 1);
  for (char& c : signature_b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (signature_b64.size() % 4 != 0) signature_b64 += '=';
  std::string signature(signature_b64.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(signature.data()),
                                reinterpret_cast<const unsigned char*>(signature_b64.data()),
                                static_cast<int>(signature_b64.size()));
  ASSERT_EQ(n, 258);  // 256 bytes plus two padding zeros from '=='
  signature.resize(256);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key), 1);
  const std::string input = jwt->substr(0, second);
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  BIO_free(bio);
}

TEST(Crypto, BadKeyIsAnErrorWithoutTheKeyInIt) {
  auto jwt = sign_jwt_rs256({{"a", 1}}, "-----BEGIN PRIVATE KEY-----\nsecretmaterial\n-----END PRIVATE KEY-----\n");
  ASSERT_FALSE(jwt.ok());
  EXPECT_EQ(jwt.error().message.find("secretmaterial"), std::string::npos);
}

TEST(Outbound, OnlyHttpsOrLoopbackHttp) {
  EXPECT_TRUE(is_allowed_base_url("https://acme.okta.com"));
  EXPECT_TRUE(is_allowed_base_url("http://127.0.0.1:8080"));
  EXPECT_TRUE(is_allowed_base_url("http://localhost"));
  EXPECT_TRUE(is_allowed_base_url("http://[::1]:9/x"));
  EXPECT_FALSE(is_allowed_base_url("http://acme.okta.com"));
  EXPECT_FALSE(is_allowed_base_url("http://127.0.0.1.evil.com"));
  EXPECT_FALSE(is_allowed_base_url("http://localhostile.com"));
  EXPECT_FALSE(is_allowed_base_url("ftp://x"));
  EXPECT_FALSE(Outbound::make({"http://example.com"}).ok());
}

}  // namespace
}  // namespace portcullis::connectors
