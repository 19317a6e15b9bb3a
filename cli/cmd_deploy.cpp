// deploy: build, ship and roll out the committed HEAD (see deployer/deploy.hpp).
#include <cstdio>

#include "cli/context.hpp"
#include "core/clock.hpp"
#include "core/process.hpp"
#include "deployer/deploy.hpp"

namespace podlift::cli {

std::vector<Command> deploy_commands() {
  std::vector<Command> cmds;
  cmds.push_back({"deploy", "build HEAD, ship it to the servers and switch nginx to it",
                  [](CLI::App& sub, Context& ctx) {
                    struct Opts {
                      bool dry_run = false;
                      bool allow_dirty = false;
                      std::string server;
                    };
                    auto o = std::make_shared<Opts>();
                    sub.add_flag("--dry-run", o->dry_run,
                                 "print the plan (commands per server) and change nothing");
                    sub.add_flag(
                        "--allow-dirty", o->allow_dirty,
                        "deploy uncommitted changes to tracked files (version gets -dirty-<hash>)");
                    sub.add_option("--server", o->server,
                                   "deploy to this server only (host as in podlift.yml)")
                        ->check(non_empty());
                    sub.callback([&ctx, o] {
                      const Config& config = ctx.config();
                      SystemProcessRunner runner;
                      SystemClock clock;
                      Deployer deployer(config, runner, ssh_connector(config), clock,
                                        [&ctx](const std::string& m) { ctx.say("-> " + m); });
                      DeployOptions opts;
                      opts.allow_dirty = o->allow_dirty;
                      opts.only_server = o->server;
                      opts.verbose = ctx.verbose;
                      if (o->dry_run) {
                        std::fputs(deployer.plan(opts).c_str(), stdout);
                        return;
                      }
                      auto summary = deployer.deploy(opts);
                      std::fputs(format_summary(summary).c_str(), stdout);
                    });
                  }});
  return cmds;
}

}  // namespace podlift::cli
