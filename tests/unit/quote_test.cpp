// shell_quote is the only way values become shell text; these cases are run through a real
// /bin/sh to prove each one comes back byte for byte.
#include "core/quote.hpp"

#include <gtest/gtest.h>

#include "core/process.hpp"

namespace podlift {
namespace {

std::string echo_through_sh(const std::string& word) {
  SystemProcessRunner runner;
  auto r = runner.run({"sh", "-c", "printf '%s' " + shell_quote(word)});
  EXPECT_TRUE(r.ok());
  return r->out;
}

TEST(Quote, PlainWordsStayUnquoted) {
  EXPECT_EQ(shell_quote("docker"), "docker");
  EXPECT_EQ(shell_quote("127.0.0.1:8080:3000"), "127.0.0.1:8080:3000");
  EXPECT_EQ(shell_quote("label=podlift.service=web"), "label=podlift.service=web");
  EXPECT_EQ(shell_quote("/var/lib/podlift/x.env"), "/var/lib/podlift/x.env");
}

TEST(Quote, EmptyBecomesTwoQuotes) {
  EXPECT_EQ(shell_quote(""), "''");
}

TEST(Quote, SpecialCharactersAreQuoted) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_quote("~root"), "'~root'");
  EXPECT_EQ(shell_quote("*"), "'*'");
}

TEST(Quote, RoundTripsThroughARealShell) {
  const std::vector<std::string> cases = {"a b  c",     "it's",
                                          "'",          "''",
                                          "\"double\"", "$HOME",
                                          "${PATH}",    "$(id)",
                                          "`id`",       "back\\slash",
                                          "semi;colon", "pipe|amp&",
                                          "new\nline",  "tab\there",
                                          "glob*?[a]",  "héllo wörld ✓",
                                          "-n",         "--option=x y",
                                          "!bang",      "#hash",
                                          "{a,b}",      "~",
                                          "a=b c",      std::string("ctrl\x01\x7f", 6)};
  for (const auto& c : cases) EXPECT_EQ(echo_through_sh(c), c) << c;
}

TEST(Quote, JoinAndPipeline) {
  EXPECT_EQ(shell_join({"docker", "run", "--name", "my app"}), "docker run --name 'my app'");
  EXPECT_EQ(shell_pipeline({{"git", "archive", "HEAD"}, {"docker", "build", "-"}}),
            "git archive HEAD | docker build -");
  SystemProcessRunner runner;
  auto r = runner.run({"sh", "-c", shell_join({"printf", "%s|", "a b", "c'd", "$x"})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "a b|c'd|$x|");
}

}  // namespace
}  // namespace podlift
