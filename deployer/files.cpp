#include "deployer/files.hpp"

namespace podlift {

void write_remote_file(RemoteExecutor& remote, const std::string& path, const std::string& content,
                       const std::string& mode) {
  // The script is constant; the path and mode arrive as positional parameters.
  static const std::string script =
      "set -e; umask 077; d=$(dirname \"$1\"); mkdir -p \"$d\"; t=\"$1.podlift-tmp.$$\"; "
      "cat > \"$t\"; chmod \"$2\" \"$t\"; mv -f \"$t\" \"$1\"";
  run_checked(remote, {"sh", "-c", script, "sh", path, mode}, "writing " + path, content);
}

std::optional<std::string> read_remote_file(RemoteExecutor& remote, const std::string& path) {
  static const std::string script = "if [ -e \"$1\" ]; then cat \"$1\"; else exit 3; fi";
  RemoteCommand cmd;
  cmd.argv = {"sh", "-c", script, "sh", path};
  auto r = remote.run(cmd);
  if (!r) throw Error("reading " + path + " on " + remote.name() + ": " + r.error());
  if (r->exit_status == 3) return std::nullopt;
  if (r->exit_status != 0) {
    throw Error("reading " + path + " on " + remote.name() + ": " + r->err);
  }
  return r->out;
}

void remove_remote_file(RemoteExecutor& remote, const std::string& path) {
  run_checked(remote, {"rm", "-f", "--", path}, "removing " + path);
}

}  // namespace podlift
