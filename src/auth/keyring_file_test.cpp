#include "auth/keyring_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/temp_dir.hpp"

namespace tacos::auth {
namespace {

TEST(KeyringFile, IsCreatedOnceWithOwnerOnlyAccessAndReadAfterwards) {
  test::TempDir dir;
  auto path = dir.path() + "/queue-token-keys";
  auto made = load_or_create_keyring(path, "k1");
  ASSERT_TRUE(made.ok()) << made.error().message;
  ASSERT_EQ(made->size(), 1u);
  EXPECT_EQ((*made)[0].id, "k1");
  EXPECT_GE((*made)[0].secret.size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = load_or_create_keyring(path, "k2");
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].id, "k1");
  EXPECT_EQ((*again)[0].secret, (*made)[0].secret);
}

TEST(KeyringFile, RotationKeepsTheOldKeyForVerification) {
  test::TempDir dir;
  auto path = dir.path() + "/keys";
  std::ofstream(path) << "# rotated\nk2:" << std::string(40, 'b') << "\nk1:" << std::string(40, 'a') << "\n";
  auto keys = load_or_create_keyring(path, "k3");
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].id, "k2");
  TokenSigner old_signer("wt1", {(*keys)[1]});
  TokenSigner rotated("wt1", *keys);
  EXPECT_TRUE(rotated.verify(old_signer.sign("payload")).ok());
}

TEST(KeyringFile, AMalformedFileIsReportedNotReplaced) {
  test::TempDir dir;
  auto path = dir.path() + "/keys";
  std::ofstream(path) << "k1:short\n";
  auto keys = load_or_create_keyring(path, "k1");
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.error().message.find(path), std::string::npos);
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "k1:short\n");
}

}  // namespace
}  // namespace tacos::auth
