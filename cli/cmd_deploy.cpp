// deploy: build, ship and roll out the committed HEAD (see deployer/deploy.hpp).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>

#include "cli/context.hpp"
#include "cli/watch_service.hpp"
#include "core/clock.hpp"
#include "core/process.hpp"
#include "deployer/deploy.hpp"
#include "watcher/state.hpp"

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
  std::string sha;
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
  opts.rev = o.sha;
  return opts;
}

// A deploy or rollback from the CLI goes into the watcher's history when a watcher keeps one on
// this machine, so its status page tells the whole story. It never changes what the watcher
// decides from (the branch tip it last deployed): a manual rollback stands until the next push.
class WatcherRecord {
 public:
  WatcherRecord(const Config& config, const std::string& trigger) {
    std::string dir = watch_state_dir(config);
    if (!std::filesystem::exists(dir + "/state.json")) return;
    try {
      store_.emplace(dir);
      rec_.trigger = trigger;
      rec_.started_ms = now_ms();
      rec_.result = "running";
      rec_.step = trigger;
      rec_.pid = ::getpid();
      rec_.id = store_->record(rec_);
    } catch (const Error& e) {
      store_.reset();  // the deploy itself must not fail for its history
    }
  }
  void finish(const DeploySummary* sum, const std::string& error) {
    if (!store_) return;
    rec_.ended_ms = now_ms();
    rec_.step.clear();
    rec_.result = sum ? "success" : "failure";
    rec_.error = error;
    if (sum) {
      rec_.sha = sum->version.id;
      for (const auto& st : sum->steps) rec_.steps.push_back({st.step, st.took.count()});
    }
    try {
      store_->record(rec_);
      if (sum) {
        store_->update([&](watcher::WatchState& s) {
          for (const auto& server : sum->servers) s.live[server.server] = sum->version.id;
        });
      }
    } catch (const Error&) {
    }
  }

 private:
  static long long now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::optional<watcher::StateStore> store_;
  watcher::DeployRecord rec_;
};

// Runs a deploy or rollback with the real process runner, SSH and clock, printing progress.
// `trigger` names it in the watcher's history (empty: a dry run, not recorded).
void run_deployer(Context& ctx, const std::string& trigger,
                  const std::function<const DeploySummary*(Deployer&)>& fn) {
  const Config& config = ctx.config();
  SystemProcessRunner runner;
  SystemClock clock;
  Deployer deployer(config, runner, ssh_connector(config), clock,
                    [&ctx](const std::string& m) { ctx.say("-> " + m); });
  std::optional<WatcherRecord> record;
  if (!trigger.empty()) record.emplace(config, trigger);
  try {
    const DeploySummary* sum = fn(deployer);
    if (record) record->finish(sum, "");
  } catch (const Error& e) {
    if (record) record->finish(nullptr, e.what());
    throw;
  }
}
}  // namespace

std::vector<Command> deploy_commands() {
  std::vector<Command> cmds;
  cmds.push_back(
      {"deploy", "build HEAD, ship it to the servers and switch nginx to it",
       [](CLI::App& sub, Context& ctx) {
         auto o = std::make_shared<Opts>();
         sub.add_flag("--dry-run", o->dry_run,
                      "print the plan (commands per server) and change nothing");
         sub.add_flag("--allow-dirty", o->allow_dirty,
                      "deploy uncommitted changes to tracked files (version gets -dirty-<hash>)");
         add_shared_options(sub, *o);
         sub.add_option("--sha", o->sha, "deploy this commit (SHA, tag or branch) instead of HEAD")
             ->check(non_empty());
         sub.callback([&ctx, o] {
           DeploySummary sum;
           run_deployer(ctx, o->dry_run ? "" : "cli deploy",
                        [&](Deployer& d) -> const DeploySummary* {
                          if (o->dry_run) {
                            std::fputs(d.plan(to_options(*o, ctx)).c_str(), stdout);
                            return nullptr;
                          }
                          sum = d.deploy(to_options(*o, ctx));
                          std::fputs(format_summary(sum).c_str(), stdout);
                          return &sum;
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
           DeploySummary sum;
           run_deployer(ctx, "cli rollback", [&](Deployer& d) -> const DeploySummary* {
             sum = d.rollback(o->version, to_options(*o, ctx));
             std::fputs(format_summary(sum).c_str(), stdout);
             return &sum;
           });
         });
       }});
  return cmds;
}

}  // namespace podlift::cli
