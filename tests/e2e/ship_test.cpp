// SSH mode end to end: only the layers a server lacks travel; a version a server has ships
// nothing; a 200 MB layer completes; a stalled transfer times out with a clear error and changes
// nothing; a server that refuses the trimmed stream gets the whole image.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "core/quote.hpp"
#include "harness.hpp"

namespace podlift::e2e {
namespace {

// "shipped 3.7 KiB over SSH" → bytes (from the deploy summary).
double shipped_bytes(const std::string& out) {
  auto at = out.find("    shipped ");
  if (at == std::string::npos) return -1;
  double v = std::atof(out.c_str() + at + 12);
  auto unit = out.substr(out.find(' ', at + 12) + 1, 3);
  if (unit == "KiB") v *= 1024;
  if (unit == "MiB") v *= 1024 * 1024;
  if (unit == "GiB") v *= 1024.0 * 1024 * 1024;
  return v;
}

class ShipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!prepare_environment().empty()) GTEST_SKIP() << prepare_environment();
  }
};

TEST_F(ShipTest, OnlyTheLayersAServerLacksTravelAndAVersionItHasShipsNothing) {
  Deployment d("ship-layers");
  Exec first = d.podlift({"deploy"});
  ASSERT_EQ(first.rc, 0) << first.all();
  EXPECT_NE(first.out.find("(0 of 3 layers were already there)"), std::string::npos) << first.out;
  const std::string v1 = d.repo().head();
  EXPECT_EQ(d.served_version(), v1);

  const std::string v2 = d.repo().commit_file("message.txt", "second\n", "v2");
  Exec second = d.podlift({"deploy"});
  ASSERT_EQ(second.rc, 0) << second.all();
  EXPECT_NE(second.out.find("(2 of 3 layers were already there)"), std::string::npos) << second.out;
  // The app layer is a few KiB; the ~200 MB Debian base stays home.
  EXPECT_GT(shipped_bytes(second.out), 0) << second.out;
  EXPECT_LT(shipped_bytes(second.out), 64 * 1024) << second.out;
  EXPECT_EQ(d.served_version(), v2);

  // Back to v1 and forward to v2 again: both are on the server, nothing travels.
  Exec back = d.podlift({"rollback"});
  ASSERT_EQ(back.rc, 0) << back.all();
  EXPECT_EQ(back.out.find("shipped"), std::string::npos) << back.out;
  EXPECT_EQ(d.served_version(), v1);
  Exec again = d.podlift({"deploy", "--sha", v2});
  ASSERT_EQ(again.rc, 0) << again.all();
  EXPECT_NE(again.out.find("image already there: nothing shipped"), std::string::npos) << again.out;
  EXPECT_EQ(d.served_version(), v2);
}

TEST_F(ShipTest, ABigLayerCompletesAndAStalledTransferTimesOutChangingNothing) {
  Deployment d("ship-big");
  // 200 MB of random bytes (gzip cannot shrink them) in a layer below the app.
  d.repo().commit_file("Dockerfile",
                       "FROM local/debian:bookworm\n"
                       "RUN head -c 200000000 /dev/urandom > /blob\n"
                       "WORKDIR /app\nCOPY . /app/\nEXPOSE 3000\nSTOPSIGNAL SIGTERM\n"
                       "CMD [\"perl\", \"/app/app.pl\"]\n",
                       "a big layer");
  d.write_config("ship:\n  idle_timeout: 3s\n");

  // The lock's release after the failure meets the paused server too: bound it.
  Background deploy(d.repo().dir(), "deploy", "PODLIFT_SSH_COMMAND_TIMEOUT=15s");
  ASSERT_TRUE(deploy.wait_for_output("shipping to", 180)) << deploy.out();
  d.server().pause();
  const auto paused_at = std::chrono::steady_clock::now();
  const int rc = deploy.wait(120);
  const auto took = std::chrono::steady_clock::now() - paused_at;
  d.server().unpause();
  EXPECT_NE(rc, 0) << deploy.out();
  EXPECT_NE(deploy.out().find("timed out after 3s without any data moving"), std::string::npos)
      << deploy.out();
  // The idle bound, then at most a command timeout for giving the lock back.
  EXPECT_LT(took, std::chrono::seconds(90));
  EXPECT_EQ(d.container_count(), 0) << "a failed ship must start nothing";

  Exec ok = d.podlift({"deploy"});
  ASSERT_EQ(ok.rc, 0) << ok.all();
  EXPECT_EQ(d.served_version(), d.repo().head());
  Exec size = d.server().exec(
      "docker exec $(docker ps -q --filter label=podlift.service=hello) "
      "stat -c %s /blob");
  EXPECT_EQ(size.out, "200000000\n") << size.all();
  EXPECT_GT(shipped_bytes(ok.out), 190e6) << ok.out;
}

TEST_F(ShipTest, AServerThatRefusesTheTrimmedImageGetsTheWholeOne) {
  Deployment d("ship-refuse");
  // The server lies: it reports an image holding our base layer, which its engine does not
  // have, so the engine refuses the trimmed stream for real.
  Exec base = run({docker(), "image", "inspect", "--format", "{{json .RootFS.Layers}}",
                   "local/debian:bookworm"});
  ASSERT_EQ(base.rc, 0) << base.all();
  std::string json = base.out.substr(0, base.out.find('\n'));
  Exec wrap = d.server().exec(
      "cat > /usr/local/bin/docker <<'EOF'\n#!/bin/sh\n"
      "case \"$1 $2\" in\n"
      "  'image ls') /usr/bin/docker \"$@\"; echo sha256:not-really-here; exit 0 ;;\n"
      "  'image inspect') if [ \"$4\" = '{{json .RootFS.Layers}}' ]; then\n"
      "      /usr/bin/docker \"$@\" 2>/dev/null; echo '" +
      json +
      "'; exit 0; fi ;;\n"
      "esac\nexec /usr/bin/docker \"$@\"\nEOF\nchmod +x /usr/local/bin/docker");
  ASSERT_EQ(wrap.rc, 0) << wrap.all();
  Exec r = d.podlift({"deploy"});
  d.server().exec("rm -f /usr/local/bin/docker");
  ASSERT_EQ(r.rc, 0) << r.all();
  EXPECT_NE(r.out.find("refused the image without its lower layers"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("invalid diffID"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sending the whole image"), std::string::npos) << r.out;
  EXPECT_EQ(d.served_version(), d.repo().head());
}

}  // namespace
}  // namespace podlift::e2e
