// lock status | acquire -m MSG | release: the service's deploy lock on the primary server
// (see deployer/lock.hpp).
#include <cstdio>

#include "cli/context.hpp"
#include "core/clock.hpp"
#include "deployer/deploy.hpp"
#include "deployer/lock.hpp"

namespace podlift::cli {

namespace {

void warn(const std::string& message) {
  std::fprintf(stderr, "podlift: warning: %s\n", message.c_str());
}

// Connects to the server holding the lock and runs `body` with a DeployLock on it.
template <typename Body>
void with_lock(Context& ctx, Body body) {
  const Config& config = ctx.config(false);
  if (config.servers.empty()) throw ConfigError("no servers configured");
  auto remote = ssh_connector(config)(config.servers[0]);
  SystemClock clock;
  DeployLock lock(*remote, config.service, clock, warn);
  body(lock, config.service, remote->name());
}

void status(Context& ctx) {
  with_lock(ctx, [&ctx](DeployLock& lock, const std::string& service, const std::string& server) {
    auto info = lock.status();
    ctx.say("deploy lock of " + service + " on " + server + ": " +
            (info ? "held by " + describe_lock(*info) : std::string("free")));
  });
}

void acquire(Context& ctx, const std::string& message, int wait, int lease) {
  with_lock(ctx, [&](DeployLock& lock, const std::string& service, const std::string& server) {
    lock.acquire_detached(message, std::chrono::seconds(wait), std::chrono::seconds(lease));
    auto info = lock.status();
    ctx.say("deploy lock of " + service + " on " + server + " is held by " +
            (info ? describe_lock(*info) : std::string("nobody (it was released meanwhile)")) +
            "; deploys wait until `podlift lock release`");
  });
}

void release(Context& ctx) {
  with_lock(ctx, [&ctx](DeployLock& lock, const std::string& service, const std::string& server) {
    auto removed = lock.force_release();
    ctx.say(removed ? "released the deploy lock of " + service + " on " + server + ", held by " +
                          describe_lock(*removed)
                    : "the deploy lock of " + service + " on " + server + " was not held");
  });
}

CLI::Validator non_negative() {
  return CLI::Validator(
      [](std::string& v) {
        return !v.empty() && v[0] == '-' ? std::string("must be 0 or more") : std::string();
      },
      "SECONDS");
}

}  // namespace

std::vector<Command> lock_commands() {
  std::vector<Command> cmds;
  cmds.push_back(
      {"lock", "show, take or release the service's deploy lock (status | acquire | release)",
       [](CLI::App& sub, Context& ctx) {
         sub.require_subcommand(1);
         sub.add_subcommand("status", "who holds the deploy lock, if anyone")->callback([&ctx] {
           status(ctx);
         });

         struct AcquireOpts {
           std::string message;
           int wait = 0;
           int lease = 0;
         };
         auto o = std::make_shared<AcquireOpts>();
         CLI::App* acq = sub.add_subcommand(
             "acquire", "take the deploy lock and keep it until `podlift lock release`");
         acq->add_option("-m,--message", o->message, "why (shown to whoever tries to deploy)")
             ->required()
             ->check(non_empty());
         acq->add_option("--lock-wait", o->wait, "wait up to SECONDS while someone holds it")
             ->check(non_negative());
         acq->add_option("--lease", o->lease,
                         "let others reclaim it after SECONDS (default: never)")
             ->check(non_negative());
         acq->callback([&ctx, o] { acquire(ctx, o->message, o->wait, o->lease); });

         sub.add_subcommand("release", "remove the deploy lock, whoever holds it")
             ->callback([&ctx] { release(ctx); });
       }});
  return cmds;
}

}  // namespace podlift::cli
