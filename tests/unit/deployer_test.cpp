// Pure pieces of the deployer: version naming, nginx site generation, docker argv and env files,
// parsing of docker/ss output.
#include <gtest/gtest.h>

#include "deployer/deploy.hpp"
#include "deployer/docker.hpp"
#include "deployer/drain.hpp"
#include "deployer/inventory.hpp"
#include "deployer/nginx.hpp"
#include "deployer/rollout.hpp"
#include "deployer/version.hpp"

namespace podlift {
namespace {

const std::string kSha = "0123456789abcdef0123456789abcdef01234567";

Config sample_config() {
  Config c;
  c.service = "web";
  c.image = "podlift/web";
  c.app_port = 8000;
  c.env.clear = {{"LOG_LEVEL", "info"}};
  c.env.secret = {"DB_PASSWORD"};
  c.secrets = {{"DB_PASSWORD", "hunter2-very-secret"}};
  c.servers.push_back(ServerConfig{});
  c.servers[0].host = "192.0.2.10";
  return c;
}

TEST(Version, IdAndShortForm) {
  EXPECT_EQ(version_id(kSha), kSha);
  EXPECT_EQ(version_id(kSha, "deadbeefcafe0000"), kSha + "-dirty-deadbeef");
  EXPECT_EQ(short_version(kSha), "0123456789ab");
  EXPECT_EQ(short_version(kSha + "-dirty-deadbeef"), "0123456789ab-dirty-deadbeef");
  EXPECT_TRUE(looks_like_version("0123abc"));
  EXPECT_TRUE(looks_like_version(kSha + "-dirty-deadbeef"));
  EXPECT_FALSE(looks_like_version("main"));
  EXPECT_FALSE(looks_like_version("ABC1"));
}

TEST(Version, TagIsAValidDockerTag) {
  // Docker tags: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
  std::string id = version_id(kSha, "0011223344556677");
  EXPECT_LE(id.size(), 128u);
  for (char c : id) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-') << c;
}

TEST(Nginx, SiteListsBothSlotsWithoutUpstreamKeepalive) {
  Config c = sample_config();
  c.nginx.server_name = "example.com";
  c.nginx.listen = 8080;
  std::string site = render_nginx_site(c, "23456", "23457");
  EXPECT_NE(site.find("server 127.0.0.1:23456 max_fails=0;"), std::string::npos) << site;
  EXPECT_NE(site.find("server 127.0.0.1:23457 max_fails=0;"), std::string::npos) << site;
  EXPECT_NE(site.find("listen 8080;"), std::string::npos) << site;
  EXPECT_NE(site.find("server_name example.com;"), std::string::npos) << site;
  EXPECT_NE(site.find("proxy_pass http://podlift_web;"), std::string::npos) << site;
  EXPECT_NE(site.find("proxy_next_upstream error timeout;"), std::string::npos) << site;
  EXPECT_NE(site.find("add_header X-Podlift-Upstream $upstream_addr always;"), std::string::npos);
  // Reused upstream connections would let a stopping container take new requests.
  EXPECT_EQ(site.find("keepalive"), std::string::npos) << site;
  EXPECT_EQ(site.find("default_server"), std::string::npos);
  // The same inputs give the same text, so a deploy that changes no slot needs no reload.
  EXPECT_EQ(site, render_nginx_site(c, "23456", "23457"));
  auto slots = parse_nginx_site(site);
  ASSERT_TRUE(slots);
  EXPECT_EQ(slots->a, 23456);
  EXPECT_EQ(slots->b, 23457);
  EXPECT_EQ(slots->other(23456), 23457);
}

TEST(Nginx, CatchAllServerNameIsTheDefaultServer) {
  Config c = sample_config();
  std::string site = render_nginx_site(c, "20000", "20001");
  EXPECT_NE(site.find("listen 80 default_server;"), std::string::npos) << site;
  EXPECT_FALSE(parse_nginx_site("server { listen 80; }"));
  EXPECT_FALSE(parse_nginx_site("# podlift-slots: 20000 20000\n"));
}

TEST(Drain, GateRefusesOnlyNewConnectionsOnLoopback) {
  auto rule = gate_rule("web", "21000");
  std::string joined;
  for (const auto& w : rule) joined += w + " ";
  EXPECT_EQ(joined,
            "INPUT -s 127.0.0.1 -i lo -p tcp --dport 21000 --syn -m comment --comment podlift:web "
            "-j REJECT "
            "--reject-with tcp-reset ");
}

TEST(Rollback, CandidatesAreRetainedVersionsNewestFirstWithoutTheLiveOne) {
  auto mk = [](std::string name, std::string version, std::string state) {
    ContainerInfo c;
    c.name = std::move(name);
    c.version_id = std::move(version);
    c.state = std::move(state);
    return c;
  };
  std::vector<ContainerInfo> cs = {mk("w4", "4444aaaa", "running"), mk("w3", "3333aaaa", "exited"),
                                   mk("w3b", "3333aaaa", "exited"), mk("w2", "2222aaaa", "exited"),
                                   mk("w1", "4444aaaa", "exited")};
  auto cand = rollback_candidates(cs, "4444aaaa");
  ASSERT_EQ(cand.size(), 2u);
  EXPECT_EQ(cand[0].name, "w3");
  EXPECT_EQ(cand[1].name, "w2");
  EXPECT_EQ(pick_rollback_target(cand, "").version_id, "3333aaaa");
  EXPECT_EQ(pick_rollback_target(cand, "2222").version_id, "2222aaaa");
  EXPECT_EQ(pick_rollback_target(cand, "2222aaaa").name, "w2");
  try {
    pick_rollback_target(cand, "9999");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("retained: 3333aaaa, 2222aaaa"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(pick_rollback_target({}, ""), Error);
}

TEST(Docker, RunArgvCarriesLabelsAndNoSecrets) {
  Config c = sample_config();
  RunSpec spec{"web-0123456789ab-abcd", "podlift/web:" + kSha, kSha, "21000",
               "/var/lib/podlift/web/web-0123456789ab-abcd.env"};
  auto argv = docker_run_argv(c, spec);
  std::string joined;
  for (const auto& a : argv) joined += a + " ";
  EXPECT_NE(joined.find("--label podlift.service=web"), std::string::npos) << joined;
  EXPECT_NE(joined.find("--label podlift.version=" + kSha), std::string::npos);
  EXPECT_NE(joined.find("--publish 127.0.0.1:21000:8000"), std::string::npos);
  EXPECT_NE(joined.find("--restart unless-stopped"), std::string::npos);
  EXPECT_NE(joined.find("--env-file /var/lib/podlift/web/"), std::string::npos);
  EXPECT_EQ(joined.find("hunter2"), std::string::npos);
}

TEST(Docker, EnvFileHoldsSecretsOnlyWhenNotRedacted) {
  Config c = sample_config();
  std::string real = env_file_contents(c, kSha, false);
  EXPECT_NE(real.find("DB_PASSWORD=hunter2-very-secret\n"), std::string::npos);
  EXPECT_NE(real.find("PODLIFT_VERSION=" + kSha + "\n"), std::string::npos);
  EXPECT_NE(real.find("LOG_LEVEL=info\n"), std::string::npos);
  std::string plan = env_file_contents(c, kSha, true);
  EXPECT_NE(plan.find("DB_PASSWORD=[redacted]"), std::string::npos);
  EXPECT_EQ(plan.find("hunter2"), std::string::npos);
  c.env.clear["BAD"] = "two\nlines";
  EXPECT_THROW(env_file_contents(c, kSha, false), ConfigError);
}

TEST(Docker, BuildArchivesTheCommittedTreeOfTheContext) {
  Config c = sample_config();
  c.build.context = "./app/";
  c.build.args = {{"MODE", "prod x"}};
  AppVersion v;
  v.sha = kSha;
  v.id = kSha;
  v.tree_rev = kSha;
  v.repo_root = "/src/my repo";
  v.prefix = "services/";
  auto argv = build_command(c, v);
  ASSERT_EQ(argv.size(), 5u);
  EXPECT_EQ(argv[0], "bash");
  const std::string& script = argv[4];
  EXPECT_NE(script.find("git -C '/src/my repo' archive --format=tar " + kSha + ":services/app |"),
            std::string::npos)
      << script;
  EXPECT_NE(script.find("--build-arg 'MODE=prod x'"), std::string::npos) << script;
  EXPECT_NE(script.find("-t podlift/web:" + kSha), std::string::npos) << script;
  EXPECT_EQ(script.back(), '-');
}

TEST(Docker, ContainerNamesAreUniquePerDeploy) {
  auto a = new_container_name("web", kSha);
  auto b = new_container_name("web", kSha);
  EXPECT_EQ(a.rfind("web-0123456789ab-", 0), 0u) << a;
  EXPECT_NE(a, b);
  EXPECT_NE(new_container_name("web", kSha + "-dirty-deadbeef").find("-dirty-"), std::string::npos);
}

TEST(Inventory, ParsesDockerPsJsonNewestFirst) {
  std::string text =
      R"({"ID":"aaa","Names":"web-old","Image":"podlift/web:1111","State":"exited","Status":"Exited (0) 1 hour ago","CreatedAt":"2026-12-01 10:00:00 +0000 UTC","Labels":"podlift.port=20001,podlift.role=web,podlift.service=web,podlift.version=1111"})"
      "\n"
      R"({"ID":"bbb","Names":"web-new","Image":"podlift/web:2222","State":"running","Status":"Up 2 minutes","CreatedAt":"2026-12-02 10:00:00 +0000 UTC","Labels":"podlift.version=2222,podlift.service=web,podlift.port=20002"})"
      "\nnot json\n";
  auto cs = parse_docker_ps(text);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].name, "web-new");
  EXPECT_TRUE(cs[0].running());
  EXPECT_EQ(cs[0].version_id, "2222");
  EXPECT_EQ(cs[0].host_port, 20002);
  EXPECT_EQ(cs[1].role, "web");
  EXPECT_FALSE(cs[1].running());
}

TEST(Rollout, ParsesListeningPorts) {
  std::string ss =
      "LISTEN 0      4096       127.0.0.1:29630      0.0.0.0:*\n"
      "LISTEN 0      128          0.0.0.0:22         0.0.0.0:*\n"
      "LISTEN 0      511             [::]:80            [::]:*\n";
  EXPECT_EQ(parse_listening_ports(ss), (std::vector<int>{29630, 22, 80}));
}

}  // namespace
}  // namespace podlift
