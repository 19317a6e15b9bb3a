// run_checked over the recording fake, and the fake's own scripting rules.
#include "deployer/remote.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "unit/fake_remote.hpp"

namespace podlift {
namespace {

std::string error_of(FakeRemote& remote, const std::vector<std::string>& argv,
                     const std::string& what) {
  try {
    run_checked(remote, argv, what);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kFailure);
    return e.what();
  }
  ADD_FAILURE() << "run_checked did not throw";
  return {};
}

TEST(RunChecked, ReturnsStdoutOfASuccessfulCommand) {
  FakeRemote remote;
  remote.on("cat /etc/podlift/state.json", 0, "{\"v\":1}\n");
  EXPECT_EQ(run_checked(remote, {"cat", "/etc/podlift/state.json"}, "read state"), "{\"v\":1}\n");
  ASSERT_EQ(remote.calls.size(), 1u);
  EXPECT_EQ(remote.calls[0].command, "cat /etc/podlift/state.json");
}

TEST(RunChecked, QuotesArgvAndPassesStdin) {
  FakeRemote remote;
  run_checked(remote, {"sh", "-c", "cat > \"$1\"", "sh", "/tmp/a b"}, "write file", "contents");
  ASSERT_EQ(remote.calls.size(), 1u);
  EXPECT_EQ(remote.calls[0].command, "sh -c 'cat > \"$1\"' sh '/tmp/a b'");
  EXPECT_EQ(remote.calls[0].stdin_data, "contents");
}

TEST(RunChecked, NonZeroExitNamesWhatHostAndStderr) {
  FakeRemote remote("deploy@web1:2222");
  remote.on("docker load", 1, "", "Error: no space left on device\n");
  EXPECT_EQ(error_of(remote, {"docker", "load"}, "load image"),
            "load image on deploy@web1:2222: Error: no space left on device (exit status 1)");
}

TEST(RunChecked, FallsBackToStdoutThenToTheStatus) {
  FakeRemote remote;
  remote.on("nginx -t", 1, "  config broken  \n").on("false", 2).on("sh", -1);
  EXPECT_EQ(error_of(remote, {"nginx", "-t"}, "check nginx"),
            "check nginx on root@fake:22: config broken (exit status 1)");
  EXPECT_EQ(error_of(remote, {"false"}, "run false"),
            "run false on root@fake:22: failed with exit status 2");
  EXPECT_EQ(error_of(remote, {"sh", "-c", "kill $$"}, "kill"),
            "kill on root@fake:22: failed with killed by a signal");
}

TEST(RunChecked, KeepsTheEndOfALongStderr) {
  FakeRemote remote;
  remote.on("docker build", 1, "", std::string(5000, 'x') + "\nERROR: step 7 failed\n");
  const std::string msg = error_of(remote, {"docker", "build", "."}, "build");
  EXPECT_LT(msg.size(), 2100u);
  EXPECT_NE(msg.find("build on root@fake:22: ...x"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ERROR: step 7 failed (exit status 1)"), std::string::npos) << msg;
}

TEST(RunChecked, TransportFailureCarriesTheExecutorMessage) {
  FakeRemote remote;
  remote.fail("docker ps", "`docker ps` on root@fake:22 timed out after 2s");
  EXPECT_EQ(error_of(remote, {"docker", "ps"}, "list containers"),
            "list containers on root@fake:22: `docker ps` on root@fake:22 timed out after 2s");
}

TEST(FakeRemote, UnscriptedCommandsSucceedEmpty) {
  FakeRemote remote;
  RemoteCommand cmd;
  cmd.argv = {"true"};
  auto r = remote.run(cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_status, 0);
  EXPECT_EQ(r->out, "");
}

TEST(FakeRemote, ResponsesAreUsedOnceInOrderUnlessRepeated) {
  FakeRemote remote;
  remote.on("cat", 0, "first").on("cat", 0, "second").on("ls", 0, "x", "", /*repeat=*/true);
  EXPECT_EQ(run_checked(remote, {"cat", "a"}, "a"), "first");
  EXPECT_EQ(run_checked(remote, {"cat", "b"}, "b"), "second");
  EXPECT_EQ(run_checked(remote, {"cat", "c"}, "c"), "");
  EXPECT_EQ(run_checked(remote, {"ls"}, "ls"), "x");
  EXPECT_EQ(run_checked(remote, {"ls"}, "ls"), "x");
}

TEST(FakeRemote, DrainsStdinSourcesAndFeedsSinks) {
  FakeRemote remote;
  remote.on("docker load", 0, "Loaded image\n", "warn\n");
  std::string data(200 * 1024, 'z');
  size_t pos = 0;
  std::string out, err;
  RemoteCommand cmd;
  cmd.argv = {"docker", "load"};
  cmd.stdin_source = [&](char* buf, size_t cap) {
    const size_t n = std::min(cap, data.size() - pos);
    data.copy(buf, n, pos);
    pos += n;
    return n;
  };
  cmd.on_stdout = [&](std::string_view s) { out += s; };
  cmd.on_stderr = [&](std::string_view s) { err += s; };
  auto r = remote.run(cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "");
  EXPECT_EQ(out, "Loaded image\n");
  EXPECT_EQ(err, "warn\n");
  EXPECT_EQ(remote.calls.at(0).stdin_data, data);
}

}  // namespace
}  // namespace podlift
