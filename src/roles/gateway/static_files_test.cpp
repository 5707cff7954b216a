#include "roles/gateway/static_files.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace tacos::gateway {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tacos-web-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "assets");
    std::ofstream(root_ / "index.html") << "<html>app</html>";
    std::ofstream(root_ / "assets" / "app-1a2b3c.js") << "console.log(1)";
  }
  void TearDown() override { fs::remove_all(root_); }
  net::Response get(const StaticFiles& files, std::string path, std::string inm = {}) {
    net::Request req;
    req.path = std::move(path);
    if (!inm.empty()) req.headers.push_back({"if-none-match", inm});
    return files.serve(req);
  }
  fs::path root_;
};

TEST_F(StaticFilesTest, ServesIndexWithoutCaching) {
  StaticFiles files(root_);
  auto r = get(files, "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<html>app</html>");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "no-cache");
}

TEST_F(StaticFilesTest, CachesHashedAssetsForAYear) {
  StaticFiles files(root_);
  auto r = get(files, "/assets/app-1a2b3c.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get(files, "/assets/app-1a2b3c.js", std::string(r.header("etag"))).status, 304);
}

TEST_F(StaticFilesTest, AppRoutesGetIndexButApiAndMissingAssetsDoNot) {
  StaticFiles files(root_);
  EXPECT_EQ(get(files, "/events/evt_1").body, "<html>app</html>");
  EXPECT_EQ(get(files, "/api/v1/nothing").status, 404);
  EXPECT_EQ(get(files, "/assets/gone-999.js").status, 404);
}

TEST_F(StaticFilesTest, MissingDirectoryServesNothing) {
  StaticFiles files(root_ / "nope");
  EXPECT_TRUE(files.empty());
}

}  // namespace
}  // namespace tacos::gateway
