// The health gate and the rollout's failure contract, driven through a recording fake server
// and a fake clock (the real thing is covered end to end in tests/e2e).
#include "deployer/rollout.hpp"

#include <gtest/gtest.h>

#include "deployer/health.hpp"
#include "deployer/nginx.hpp"
#include "fake_clock.hpp"
#include "fake_remote.hpp"

namespace podlift {
namespace {

Config config() {
  Config c;
  c.service = "web";
  c.image = "podlift/web";
  c.servers.push_back(ServerConfig{});
  c.servers[0].host = "fake";
  c.healthcheck.interval = std::chrono::milliseconds(500);
  c.healthcheck.deadline = std::chrono::seconds(5);
  return c;
}

bool ran(const FakeRemote& r, const std::string& prefix) {
  for (const auto& c : r.calls)
    if (c.command.rfind(prefix, 0) == 0) return true;
  return false;
}

TEST(Health, ProbesUntilTwoHundredThenStops) {
  FakeRemote remote;
  FakeClock clock;
  remote.on("curl", 0, "000").on("docker inspect", 0, "running 0\n");
  remote.on("curl", 0, "503").on("docker inspect", 0, "running 0\n");
  remote.on("curl", 0, "200");
  Config c = config();
  c.healthcheck.host = "example.com";
  auto h = wait_healthy(remote, clock, c.healthcheck, 21000, "web-1");
  EXPECT_TRUE(h.healthy);
  EXPECT_EQ(h.attempts, 3);
  EXPECT_EQ(clock.slept, std::chrono::milliseconds(1000));
  EXPECT_NE(remote.calls[0].command.find("'Host: example.com' http://127.0.0.1:21000/up"),
            std::string::npos)
      << remote.calls[0].command;
}

TEST(Health, GivesUpAtTheDeadlineWithTheLastStatus) {
  FakeRemote remote;
  FakeClock clock;
  remote.on("curl", 0, "503", "", true).on("docker inspect", 0, "running 0\n", "", true);
  auto h = wait_healthy(remote, clock, config().healthcheck, 21000, "web-1");
  EXPECT_FALSE(h.healthy);
  EXPECT_EQ(h.last, "HTTP 503");
  EXPECT_LE(clock.slept, std::chrono::seconds(5));
  EXPECT_GE(h.attempts, 10);
}

TEST(Health, StopsEarlyWhenTheContainerExits) {
  FakeRemote remote;
  FakeClock clock;
  remote.on("curl", 7, "000").on("docker inspect", 0, "exited 1\n");
  auto h = wait_healthy(remote, clock, config().healthcheck, 21000, "web-1");
  EXPECT_FALSE(h.healthy);
  EXPECT_EQ(h.attempts, 1);
  EXPECT_EQ(h.last, "connection refused; container is exited (exit code 1)");
}

std::string ps_line(const std::string& name, const std::string& version, const std::string& state,
                    const std::string& created, int port = 0) {
  return R"({"Names":")" + name + R"(","Image":"podlift/web:)" + version + R"(","State":")" +
         state + R"(","CreatedAt":")" + created +
         R"(","Labels":"podlift.service=web,podlift.version=)" + version +
         ",podlift.port=" + std::to_string(port) + "\"}\n";
}

// A server where version 1111 is live on slot 20001 of slots 20001/20002.
void script_live_server(FakeRemote& remote, const Config& c) {
  remote.on("docker ps", 0, ps_line("web-1", "1111", "running", "2026-12-01", 20001));
  remote.on("sh -c 'if [ -e", 0, R"({"container":"web-1","version":"1111","port":20001})");
  remote.on("sh -c 'if [ -e", 0, render_nginx_site(c, "20001", "20002"));
  remote.on("ss -Htln", 0, "LISTEN 0 4096 127.0.0.1:20001 0.0.0.0:*\n");
}

TEST(Rollout, UnhealthyVersionIsRemovedAndNothingElseIsTouched) {
  FakeRemote remote;
  FakeClock clock;
  Config c = config();
  script_live_server(remote, c);
  remote.on("curl", 0, "500", "", true).on("docker inspect", 0, "running 0\n", "", true);
  Rollout rollout(remote, c, clock, [](const std::string&) {});
  try {
    rollout.run("podlift/web:abcd", "abcdabcdabcd");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUnhealthy);
    EXPECT_NE(std::string(e.what()).find("last: HTTP 500"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(ran(remote, "docker run"));
  EXPECT_TRUE(ran(remote, "docker rm --force web-abcdabcdabcd-"));
  EXPECT_TRUE(ran(remote, "rm -f -- /var/lib/podlift/web/web-abcdabcdabcd-"));
  EXPECT_FALSE(ran(remote, "nginx"));  // the site already lists both slots
  // Only the new slot was gated (until healthy); the old slot never was, and the gate is gone.
  EXPECT_FALSE(ran(remote, "iptables -w -I INPUT -s 127.0.0.1 -i lo -p tcp --dport 20001"));
  EXPECT_TRUE(ran(remote, "iptables -w -I INPUT -s 127.0.0.1 -i lo -p tcp --dport 20002"));
  EXPECT_TRUE(ran(remote, "iptables -w -D INPUT -s 127.0.0.1 -i lo -p tcp --dport 20002"));
  EXPECT_FALSE(ran(remote, "docker stop"));
}

TEST(Rollout, SecretsTravelOnStdinNeverOnACommandLine) {
  FakeRemote remote;
  FakeClock clock;
  Config c = config();
  c.env.secret = {"TOKEN"};
  c.secrets = {{"TOKEN", "sup3r-s3cret"}};
  remote.on("curl", 0, "500", "", true).on("docker inspect", 0, "running 0\n", "", true);
  Rollout rollout(remote, c, clock, [](const std::string&) {});
  EXPECT_THROW(rollout.run("podlift/web:abcd", "abcd"), Error);
  bool on_stdin = false;
  for (const auto& call : remote.calls) {
    EXPECT_EQ(call.command.find("sup3r-s3cret"), std::string::npos) << call.command;
    on_stdin = on_stdin || call.stdin_data.find("TOKEN=sup3r-s3cret") != std::string::npos;
  }
  EXPECT_TRUE(on_stdin);
}

TEST(Rollout, NginxTestFailureOnFirstDeployRemovesTheSiteAndStartsNothing) {
  FakeRemote remote;
  FakeClock clock;
  Config c = config();
  remote.on("sh -c 'if [ -e", 3).on("sh -c 'if [ -e", 3);  // no live.json, no site
  remote.on("nginx -t", 1, "", "nginx: [emerg] a duplicate default server");
  Rollout rollout(remote, c, clock, [](const std::string&) {});
  try {
    rollout.run("podlift/web:2222", "2222");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate default server"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(ran(remote, "rm -f -- /etc/nginx/conf.d/podlift-web.conf"));
  EXPECT_FALSE(ran(remote, "docker run"));
}

TEST(Rollout, FailedConfirmationLetsTheOldVersionServeAgain) {
  FakeRemote remote;
  FakeClock clock;
  Config c = config();
  script_live_server(remote, c);
  remote.on("curl", 0, "200");                            // health probe
  remote.on("curl", 0, "200 127.0.0.1:20001", "", true);  // nginx keeps answering from old
  Rollout rollout(remote, c, clock, [](const std::string&) {});
  EXPECT_THROW(rollout.run("podlift/web:2222", "2222"), Error);
  EXPECT_TRUE(ran(remote, "iptables -w -I INPUT -s 127.0.0.1 -i lo -p tcp --dport 20001"));
  EXPECT_TRUE(ran(remote, "iptables -w -D INPUT -s 127.0.0.1 -i lo -p tcp --dport 20001"));
  EXPECT_TRUE(ran(remote, "docker rm --force web-2222-"));
  EXPECT_FALSE(ran(remote, "docker stop"));
}

TEST(Rollout, SwitchUsesTheFreeSlotDrainsTheOldOneAndPrunesBeyondRetain) {
  FakeRemote remote;
  FakeClock clock;
  Config c = config();
  c.retain = 2;
  remote.on("docker ps", 0,
            ps_line("web-3", "3333", "running", "2026-12-03", 20001) +
                ps_line("web-2", "2222", "exited", "2026-12-02") +
                ps_line("web-1", "1111", "exited", "2026-12-01"));
  remote.on("sh -c 'if [ -e", 0, R"({"container":"web-3","version":"3333","port":20001})");
  remote.on("sh -c 'if [ -e", 0, render_nginx_site(c, "20001", "20002"));
  remote.on("curl", 0, "200");                                             // health probe
  remote.on("curl", 0, "200 127.0.0.1:20001, 127.0.0.1:20002", "", true);  // via nginx
  remote.on("docker ps", 0,
            ps_line("web-4444-new", "4444", "running", "2026-12-04", 20002) +
                ps_line("web-3", "3333", "exited", "2026-12-03") +
                ps_line("web-2", "2222", "exited", "2026-12-02") +
                ps_line("web-1", "1111", "exited", "2026-12-01"));
  Rollout rollout(remote, c, clock, [](const std::string&) {});
  auto res = rollout.run("podlift/web:4444", "4444");
  EXPECT_EQ(res.port, 20002);
  EXPECT_EQ(res.previous_version, "3333");
  EXPECT_EQ(res.steps.size(), 6u);  // start health switch drain stop-old prune
  EXPECT_TRUE(ran(remote, "docker run"));
  bool published_on_free_slot = false, recorded_live = false;
  for (const auto& call : remote.calls) {
    if (call.command.rfind("docker run", 0) == 0)
      published_on_free_slot = call.command.find("--publish 127.0.0.1:20002:") != std::string::npos;
    if (call.stdin_data.find(R"("port":20002)") != std::string::npos) recorded_live = true;
  }
  EXPECT_TRUE(published_on_free_slot);
  EXPECT_TRUE(recorded_live);
  EXPECT_FALSE(ran(remote, "nginx -s reload"));  // same slots: no reload
  EXPECT_TRUE(ran(remote, "iptables -w -I INPUT -s 127.0.0.1 -i lo -p tcp --dport 20001"));
  EXPECT_TRUE(ran(remote, "ss -Htn state established"));
  EXPECT_TRUE(ran(remote, "docker stop --time 10 web-3"));
  EXPECT_TRUE(ran(remote, "iptables -w -D INPUT -s 127.0.0.1 -i lo -p tcp --dport 20001"));
  EXPECT_FALSE(ran(remote, "docker rm --force web-3"));
  EXPECT_TRUE(ran(remote, "docker rm --force web-2"));
  EXPECT_TRUE(ran(remote, "docker rm --force web-1"));
  EXPECT_TRUE(ran(remote, "docker image rm podlift/web:2222"));
  EXPECT_TRUE(ran(remote, "docker image rm podlift/web:1111"));
  EXPECT_FALSE(ran(remote, "docker image rm podlift/web:3333"));
}

}  // namespace
}  // namespace podlift
