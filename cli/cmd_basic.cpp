// version, init, and the commands that later issues implement.
#include <filesystem>
#include <fstream>

#include "build_info.hpp"
#include "cli/context.hpp"
#include "watcher/watcher.hpp"

namespace podlift::cli {

namespace {
namespace fs = std::filesystem;

std::string default_service_name() {
  // The repository (or current directory) name, lowered to what service names allow.
  fs::path dir = fs::current_path();
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    if (fs::exists(p / ".git")) {
      dir = p;
      break;
    }
    if (p == p.parent_path()) break;
  }
  std::string name;
  for (char c : dir.filename().string()) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      name += c;
    } else if (!name.empty() && name.back() != '-') {
      name += '-';
    }
  }
  while (!name.empty() && name.back() == '-') name.pop_back();
  return name.empty() ? "app" : name.substr(0, 40);
}

Command stub(const char* name, const char* summary, const char* issue) {
  return {name, summary, [name, issue](CLI::App& sub, Context&) {
            // Arguments belong to the future command; accept them so the answer is always
            // "not implemented yet" rather than a parse error.
            auto args = std::make_shared<std::vector<std::string>>();
            sub.add_option("args", *args, "arguments of the command")->allow_extra_args();
            sub.callback([name, issue, args] {
              throw UsageError(std::string("`podlift ") + name + "` is not implemented yet (" +
                               issue + ")");
            });
          }};
}
}  // namespace

std::vector<Command> basic_commands() {
  std::vector<Command> cmds;
  cmds.push_back({"version", "print podlift's version and the git SHA it was built from",
                  [](CLI::App& sub, Context& ctx) {
                    sub.callback([&ctx] {
                      ctx.say(std::string("podlift ") + PODLIFT_VERSION + " (git " +
                              PODLIFT_GIT_SHA + ")");
                      ctx.say(std::string("libgit2 ") + watcher::libgit2_version());
                    });
                  }});
  cmds.push_back(
      {"init", "write a commented podlift.yml for this repository",
       [](CLI::App& sub, Context& ctx) {
         struct Opts {
           bool force = false;
           std::string service;
         };
         auto o = std::make_shared<Opts>();
         sub.add_flag("-f,--force", o->force, "overwrite an existing file");
         sub.add_option("--service", o->service, "service name (default: the repository's name)");
         sub.callback([&ctx, o] {
           const bool force = o->force;
           const std::string& service = o->service;
           fs::path path = ctx.config_path;
           if (fs::exists(path) && !force) {
             throw UsageError(path.string() + " already exists; use --force to overwrite it");
           }
           std::string name = service.empty() ? default_service_name() : service;
           std::ofstream out(path, std::ios::trunc);
           out << init_template(name);
           out.close();
           if (!out) throw Error("cannot write " + path.string());
           ctx.say("wrote " + path.string() + " for service \"" + name +
                   "\"; set your server under servers:, then run `podlift validate`");
         });
       }});
  return cmds;
}

std::vector<Command> planned_commands() {
  std::vector<Command> cmds;
  cmds.push_back(stub("setup", "prepare bare servers (install Docker, nginx)", "planned"));
  cmds.push_back(stub("exec", "run a command in the app's environment on a server", "planned"));
  cmds.push_back(stub("ssl", "TLS certificates with certbot: setup, renew, status", "planned"));
  cmds.push_back(stub("status", "what runs where, and the last deploys", "planned"));
  return cmds;
}

}  // namespace podlift::cli
