#include "webhook/logging.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace latticeguard::webhook {
namespace {

// Runs `fn` with stderr redirected to a file and returns what it wrote.
template <class Fn>
std::string capture_stderr(Fn fn) {
  char path[] = "/tmp/lg-log-XXXXXX";
  const int fd = mkstemp(path);
  const int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  fn();
  spdlog::default_logger()->flush();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  unlink(path);
  return ss.str();
}

TEST(Logging, JsonLinesParseEvenWithQuotesInTheMessage) {
  const std::string out = capture_stderr([] {
    ASSERT_TRUE(configure_logging("json", "info"));
    spdlog::info("event=bad_review error=\"invalid \\ JSON\"\ttab");
    spdlog::debug("event=hidden");
  });
  configure_logging("text", "info");
  std::istringstream lines(out);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line)) << out;
  const auto doc = nlohmann::json::parse(line, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << line;
  EXPECT_EQ(doc["level"], "info");
  EXPECT_EQ(doc["msg"], "event=bad_review error=\"invalid \\ JSON\"\ttab");
  EXPECT_FALSE(std::getline(lines, line)) << "debug line logged at info level: " << line;
}

TEST(Logging, RejectsUnknownFormatOrLevel) {
  EXPECT_FALSE(configure_logging("xml", "info"));
  EXPECT_FALSE(configure_logging("text", "verbose"));
  EXPECT_TRUE(configure_logging("text", "warn"));
  EXPECT_TRUE(configure_logging("text", "info"));
}

}  // namespace
}  // namespace latticeguard::webhook
