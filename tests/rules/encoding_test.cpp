// The shared wire helpers: base64 (rules/core/base64.h) and Status reasons (http_status.h).
#include <gtest/gtest.h>

#include <string>

#include "rules/core/base64.h"
#include "rules/core/http_status.h"

namespace latticeguard {
namespace {

TEST(Base64Test, StandardAlphabetRoundTripsWithPadding) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (std::string s : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                        std::string("-----BEGIN CERTIFICATE-----\n"), all}) {
    Result<std::string> back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
}

TEST(Base64Test, UrlAlphabetIsUnpaddedAsInContinueTokens) {
  EXPECT_EQ(base64_encode("\xfb\xff", Base64::kUrl), "-_8");
  EXPECT_EQ(base64_encode(R"({"start":"a"})", Base64::kUrl), "eyJzdGFydCI6ImEifQ");
  Result<std::string> back = base64_decode("eyJzdGFydCI6ImEifQ", Base64::kUrl);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, R"({"start":"a"})");
  EXPECT_FALSE(base64_decode("-_8=", Base64::kStandard));  // URL-safe digits are not standard
  EXPECT_FALSE(base64_decode("+/8=", Base64::kUrl));
}

TEST(Base64Test, LineBreaksAreSkippedAsInKubeconfigFiles) {
  Result<std::string> r = base64_decode("Zm9v\nYmFy\r\n Zg==\t");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "foobarf");
}

TEST(Base64Test, MalformedInputIsAnError) {
  EXPECT_FALSE(base64_decode("Zm9"));       // standard input comes padded
  EXPECT_FALSE(base64_decode("a!!="));      // outside the alphabet
  EXPECT_FALSE(base64_decode("Zg==Zg=="));  // data after padding
  EXPECT_FALSE(base64_decode("Zm9v="));     // padding where none belongs
  EXPECT_FALSE(base64_decode("Z==="));      // one digit cannot encode a byte
  EXPECT_FALSE(base64_decode("Zm9vY", Base64::kUrl));
  Result<std::string> r = base64_decode("Zm9");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "invalid base64 length");
  EXPECT_EQ(base64_decode("a!!=").error().message, "invalid base64");
}

TEST(HttpStatusTest, NamesTheKubernetesStatusReason) {
  EXPECT_EQ(http_status_reason(400), "BadRequest");
  EXPECT_EQ(http_status_reason(403), "Forbidden");
  EXPECT_EQ(http_status_reason(404), "NotFound");
  EXPECT_EQ(http_status_reason(409), "Conflict");
  EXPECT_EQ(http_status_reason(410), "Expired");
  EXPECT_EQ(http_status_reason(413), "RequestEntityTooLarge");
  EXPECT_EQ(http_status_reason(422), "Invalid");
  EXPECT_EQ(http_status_reason(500), "InternalError");
  EXPECT_EQ(http_status_reason(504), "Timeout");
  EXPECT_EQ(http_status_reason(418), "");
  EXPECT_EQ(http_status_reason(200), "");
}

}  // namespace
}  // namespace latticeguard
