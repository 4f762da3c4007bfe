// Base of the tests that run the server as a process. Every test ends with a
// drain: the server must exit 0, and (in the sanitizer build) leave no
// sanitizer report in its log.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "tests/core/server_process.h"

namespace ringmx::test {

class ServerFixture : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_.running()) {
      server_.signal(SIGTERM);
      EXPECT_EQ(server_.wait_exit(), 0) << server_.log_text();
    }
    EXPECT_EQ(server_.count_log("AddressSanitizer"), 0) << server_.log_text();
    EXPECT_EQ(server_.count_log("LeakSanitizer"), 0) << server_.log_text();
    EXPECT_EQ(server_.count_log("runtime error:"), 0) << server_.log_text();
  }
  std::filesystem::path spool() const { return dir_.path() / "spool"; }

  TempDir dir_;
  ServerProcess server_;
};

}  // namespace ringmx::test
