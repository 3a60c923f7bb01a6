// Builds spdlog's default logger on the main thread before any test starts a thread, as the
// binary does (configure_logging runs before the cache and leader election start).
//
// spdlog creates its registry and default logger lazily, on the first log call. In this binary
// that first call used to come from two cache threads at once. The C++ runtime makes that
// initialisation safe, but it happens inside the uninstrumented libspdlog, so ThreadSanitizer
// does not see the synchronisation and reports a data race between the logger's construction on
// one thread and a level check on another. Creating it here puts thread creation (which
// ThreadSanitizer does see) between the construction and every other thread's use.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace {

class LoggingEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { spdlog::default_logger()->set_level(spdlog::level::info); }
};

const ::testing::Environment* const kLogging =
    ::testing::AddGlobalTestEnvironment(new LoggingEnvironment);

}  // namespace
