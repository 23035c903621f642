#include "api/router.h"

#include <gtest/gtest.h>

namespace relay::api {
namespace {

using Kind = Router::Match::Kind;

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    health_ = router_.add("GET", "/health");
    list_keys_ = router_.add("GET", "/v1/keys");
    create_key_ = router_.add("POST", "/v1/keys");
    delete_key_ = router_.add("DELETE", "/v1/keys/{id}");
    credit_ = router_.add("POST", "/v1/admin/tenants/{id}/credit");
    pool_ = router_.add("GET", "/v1/pools/{id}");
    validate_ = router_.add("GET", "/v1/pools/validate-address");
  }

  Router router_;
  Router::RouteId health_, list_keys_, create_key_, delete_key_, credit_, pool_, validate_;
};

TEST_F(RouterTest, FindsLiteralRoutesByMethod) {
  auto match = router_.match("GET", "/v1/keys");
  EXPECT_EQ(match.kind, Kind::kFound);
  EXPECT_EQ(match.route, list_keys_);
  EXPECT_EQ(match.pattern, "/v1/keys");
  EXPECT_EQ(router_.match("POST", "/v1/keys").route, create_key_);
  EXPECT_EQ(router_.match("GET", "/health").route, health_);
}

TEST_F(RouterTest, CapturesParametersPercentDecoded) {
  auto match = router_.match("POST", "/v1/admin/tenants/42/credit");
  ASSERT_EQ(match.kind, Kind::kFound);
  EXPECT_EQ(match.route, credit_);
  EXPECT_EQ(match.pattern, "/v1/admin/tenants/{id}/credit");
  EXPECT_EQ(match.params.get("id"), "42");
  EXPECT_EQ(match.params.get("missing"), "");
  EXPECT_EQ(router_.match("DELETE", "/v1/keys/a%20b").params.get("id"), "a b");
}

TEST_F(RouterTest, UnknownPathsAreNotFound) {
  for (const char* path : {"/", "", "/v1", "/v1/keys/", "/v1/keys/1/extra", "/V1/keys",
                           "/v1/admin/tenants//credit", "/v1/keys/%zz", "/v1/keys/%4"}) {
    auto match = router_.match("DELETE", path);
    EXPECT_EQ(match.kind, Kind::kNotFound) << path;
    EXPECT_TRUE(match.allow.empty()) << path;
  }
}

TEST_F(RouterTest, KnownPathWithAnotherMethodListsTheAllowedOnes) {
  auto match = router_.match("PUT", "/v1/keys");
  EXPECT_EQ(match.kind, Kind::kMethodNotAllowed);
  EXPECT_EQ(match.allow, "GET, HEAD, POST");
  EXPECT_EQ(router_.match("GET", "/v1/keys/9").allow, "DELETE");
  EXPECT_EQ(router_.match("POST", "/health").allow, "GET, HEAD");
}

TEST_F(RouterTest, HeadIsAnsweredByGetRoutes) {
  auto match = router_.match("HEAD", "/health");
  EXPECT_EQ(match.kind, Kind::kFound);
  EXPECT_EQ(match.route, health_);
}

TEST_F(RouterTest, LiteralSegmentsWinOverParameters) {
  EXPECT_EQ(router_.match("GET", "/v1/pools/validate-address").route, validate_);
  auto match = router_.match("GET", "/v1/pools/7");
  EXPECT_EQ(match.route, pool_);
  EXPECT_EQ(match.params.get("id"), "7");

  // Registration order does not matter.
  Router reversed;
  auto literal = reversed.add("GET", "/a/b");
  reversed.add("GET", "/a/{x}");
  EXPECT_EQ(reversed.match("GET", "/a/b").route, literal);
}

}  // namespace
}  // namespace relay::api
