// deploy: build, ship and roll out the committed HEAD (see deployer/deploy.hpp).
#include <cstdio>
#include <functional>

#include "cli/context.hpp"
#include "core/clock.hpp"
#include "core/process.hpp"
#include "deployer/deploy.hpp"

namespace podlift::cli {

namespace {
// Options deploy and rollback share.
struct Opts {
  bool dry_run = false;
  bool allow_dirty = false;
  std::string server;
  int lock_wait = 0;
  std::string message;
  std::string version;
};

void add_shared_options(CLI::App& sub, Opts& o) {
  sub.add_option("--server", o.server, "only this server (host as in podlift.yml)")
      ->check(non_empty());
  sub.add_option("--lock-wait", o.lock_wait,
                 "wait up to SECONDS for another deploy's lock instead of failing")
      ->check(CLI::Range(0, 24 * 3600));
  sub.add_option("-m,--message", o.message, "note recorded in the deploy lock");
}

DeployOptions to_options(const Opts& o, const Context& ctx) {
  DeployOptions opts;
  opts.allow_dirty = o.allow_dirty;
  opts.only_server = o.server;
  opts.verbose = ctx.verbose;
  opts.lock_wait = std::chrono::seconds(o.lock_wait);
  opts.message = o.message;
  return opts;
}

// Runs a deploy or rollback with the real process runner, SSH and clock, printing progress.
void run_deployer(Context& ctx, const std::function<void(Deployer&)>& fn) {
  const Config& config = ctx.config();
  SystemProcessRunner runner;
  SystemClock clock;
  Deployer deployer(config, runner, ssh_connector(config), clock,
                    [&ctx](const std::string& m) { ctx.say("-> " + m); });
  fn(deployer);
}
}  // namespace

std::vector<Command> deploy_commands() {
  std::vector<Command> cmds;
  cmds.push_back({"deploy", "build HEAD, ship it to the servers and switch nginx to it",
                  [](CLI::App& sub, Context& ctx) {
                    auto o = std::make_shared<Opts>();
                    sub.add_flag("--dry-run", o->dry_run,
                                 "print the plan (commands per server) and change nothing");
                    sub.add_flag(
                        "--allow-dirty", o->allow_dirty,
                        "deploy uncommitted changes to tracked files (version gets -dirty-<hash>)");
                    add_shared_options(sub, *o);
                    sub.callback([&ctx, o] {
                      run_deployer(ctx, [&](Deployer& d) {
                        if (o->dry_run) {
                          std::fputs(d.plan(to_options(*o, ctx)).c_str(), stdout);
                          return;
                        }
                        std::fputs(format_summary(d.deploy(to_options(*o, ctx))).c_str(), stdout);
                      });
                    });
                  }});
  cmds.push_back(
      {"rollback", "switch back to the previous (or a named) retained version, without building",
       [](CLI::App& sub, Context& ctx) {
         auto o = std::make_shared<Opts>();
         sub.add_option("version", o->version,
                        "version (SHA or unique prefix) to go back to; default: the previous one");
         add_shared_options(sub, *o);
         sub.callback([&ctx, o] {
           run_deployer(ctx, [&](Deployer& d) {
             std::fputs(format_summary(d.rollback(o->version, to_options(*o, ctx))).c_str(),
                        stdout);
           });
         });
       }});
  return cmds;
}

}  // namespace podlift::cli
