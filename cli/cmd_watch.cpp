// watch [--once] | watch status [--json] | watch pause [-m MSG] | watch resume, and the hidden
// `__git` helper the watcher runs for each libgit2 operation (watcher/git_source.hpp).
#include <ctime>
#include <filesystem>
#include <iostream>

#include "cli/context.hpp"
#include "cli/table.hpp"
#include "cli/watch_service.hpp"
#include "core/text.hpp"
#include "deployer/lock.hpp"
#include "watcher/git_source.hpp"
#include "watcher/state.hpp"

namespace podlift::cli {

namespace {

namespace fs = std::filesystem;

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The state of an existing watcher: an error when none has run here with this config.
watcher::StateStore existing_store(const Config& config) {
  std::string dir = watch_state_dir(config);
  if (!fs::exists(dir + "/state.json")) {
    throw Error("no watcher state in " + dir + " (has `podlift watch` run on this machine with " +
                config.path + "?)");
  }
  return watcher::StateStore(dir);
}

void status(Context& ctx, bool as_json) {
  const Config& config = ctx.config(false);
  auto store = existing_store(config);
  auto state = store.load();
  auto history = store.history();
  if (as_json) {
    nlohmann::json j;
    j["service"] = config.service;
    j["branch"] = config.watch.branch;
    j["state"] = state;
    j["history"] = history;
    std::cout << j.dump(1) << std::endl;
    return;
  }
  ctx.say("watcher of " + config.service + ", branch " + config.watch.branch + " (" + store.dir() +
          ")");
  ctx.say("  state:         " +
          (state.paused
               ? "paused by " + state.paused_by + " since " + format_utc(state.paused_at_ms) +
                     (state.paused_note.empty() ? "" : ": " + state.paused_note)
               : std::string("watching")));
  ctx.say("  branch tip:    " +
          (state.branch_missing ? std::string("the branch is missing on the remote")
                                : state.last_seen.substr(0, 12)) +
          " (polled " + format_utc(state.last_poll_ms) + ")" +
          (state.last_poll_error.empty() ? "" : "\n  poll error:    " + state.last_poll_error));
  ctx.say("  deployed tip:  " +
          (state.deployed_tip.empty() ? "-" : state.deployed_tip.substr(0, 12)));
  if (!state.failed_sha.empty()) {
    ctx.say("  failing:       " + state.failed_sha.substr(0, 12) + " (" +
            std::to_string(state.failed_attempts) + " failed attempt(s))");
  }
  for (const auto& [server, version] : state.live) {
    ctx.say("  live:          " + server + "  " + version.substr(0, 12));
  }
  for (const auto& r : history) {
    if (r.result == "running") {
      ctx.say("  running:       " + r.sha.substr(0, 12) + " (" + r.trigger + "), step " + r.step +
              " since " + format_utc(r.started_ms));
    }
  }
  Table t({"#", "STARTED", "TRIGGER", "VERSION", "RESULT", "TOOK", "STEPS"});
  size_t from = history.size() > 10 ? history.size() - 10 : 0;
  for (size_t i = history.size(); i-- > from;) {
    const auto& r = history[i];
    std::string steps;
    for (const auto& s : r.steps)
      steps += (steps.empty() ? "" : " ") + s.step + "=" + format_seconds(s.ms, 1);
    t.add({std::to_string(r.id), format_utc(r.started_ms), r.trigger,
           r.sha.substr(0, 12) + (r.forced ? " (forced)" : ""), r.result,
           r.ended_ms ? format_seconds(r.total_ms(), 1) : "-", steps});
  }
  ctx.say("last deploys:");
  std::cout << t.render();
  for (size_t i = history.size(); i-- > from;) {
    if (!history[i].error.empty()) {
      ctx.say("#" + std::to_string(history[i].id) + ": " + history[i].error);
    }
  }
}

void set_paused(Context& ctx, bool paused, const std::string& note) {
  const Config& config = ctx.config(false);
  watcher::StateStore store(watch_state_dir(config));
  bool was = false;
  store.update([&](watcher::WatchState& s) {
    was = s.paused;
    s.paused = paused;
    s.paused_by = paused ? local_identity() : "";
    s.paused_note = paused ? note : "";
    s.paused_at_ms = paused ? now_ms() : 0;
  });
  if (paused) {
    ctx.say(std::string(was ? "the watcher stays paused" : "paused the watcher of ") +
            (was ? "" : config.service) +
            ": pushes are noticed but not deployed until `podlift watch resume`");
  } else {
    ctx.say(was ? "resumed the watcher of " + config.service +
                      ": it deploys the branch tip at its next poll"
                : "the watcher of " + config.service + " was not paused");
  }
}

}  // namespace

std::vector<Command> watch_commands() {
  std::vector<Command> cmds;
  cmds.push_back(
      {"watch", "deploy every push to the watched branch (run it as a systemd service)",
       [](CLI::App& sub, Context& ctx) {
         auto once = std::make_shared<bool>(false);
         sub.add_flag("--once", *once, "one poll (and deploy, if the branch moved), then exit");
         sub.require_subcommand(0, 1);
         auto* st = sub.add_subcommand("status", "what the watcher saw, deployed and is doing");
         auto as_json = std::make_shared<bool>(false);
         st->add_flag("--json", *as_json, "machine-readable output");
         st->callback([&ctx, as_json] { status(ctx, *as_json); });
         auto* pause = sub.add_subcommand("pause", "stop deploying pushes until resumed");
         auto note = std::make_shared<std::string>();
         pause->add_option("-m,--message", *note, "why (shown by status and the status page)");
         pause->callback([&ctx, note] { set_paused(ctx, true, *note); });
         auto* resume = sub.add_subcommand("resume", "deploy pushes again");
         resume->callback([&ctx] { set_paused(ctx, false, ""); });
         sub.callback([&ctx, &sub, once] {
           if (!sub.get_subcommands().empty()) return;
           const Config& config = ctx.config(true);
           ctx.exit_code = run_watch_service(ctx.config_path, config, *once);
         });
       }});
  cmds.push_back({"__git", "", [](CLI::App& sub, Context& ctx) {
                    sub.group("");  // hidden: the watcher's libgit2 helper process
                    sub.callback(
                        [&ctx] { ctx.exit_code = watcher::run_git_helper(std::cin, std::cout); });
                  }});
  return cmds;
}

}  // namespace podlift::cli
