// Errors and exit codes. Library wrappers return Result<T>; higher layers throw podlift::Error;
// cli::run catches once, prints "podlift: error: <what>" and returns error.code().
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace podlift {

// The one set of process exit codes podlift uses. Scripts may depend on these values.
enum class ExitCode : int {
  kOk = 0,
  kFailure = 1,        // a deploy/command failed (remote error, build failure, ...)
  kUsage = 2,          // bad command line, or a command that is not implemented yet
  kConfig = 3,         // podlift.yml or environment is invalid
  kUnreachable = 4,    // SSH connect / auth / host key failure
  kUnhealthy = 5,      // the new version never passed its health check
  kInterrupted = 130,  // SIGINT/SIGTERM
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, ExitCode code = ExitCode::kFailure)
      : std::runtime_error(what), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& what) : Error(what, ExitCode::kConfig) {}
};

class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what, ExitCode::kUsage) {}
};

class UnreachableError : public Error {
 public:
  explicit UnreachableError(const std::string& what) : Error(what, ExitCode::kUnreachable) {}
};

// Another deploy (or a person, `podlift lock acquire`) holds the service's deploy lock.
class LockedError : public Error {
 public:
  explicit LockedError(const std::string& what) : Error(what, ExitCode::kFailure) {}
};

// A minimal expected<T, std::string>: the value or a human-readable error message.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  static Result failure(std::string message) {
    Result r;
    r.v_ = Failure{std::move(message)};
    return r;
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() { return ensure(); }
  const T& value() const { return const_cast<Result*>(this)->ensure(); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const std::string& error() const { return std::get<Failure>(v_).message; }
  // The value, or throw Error(prefix + error) with the given code.
  T take(const std::string& prefix = "", ExitCode code = ExitCode::kFailure) {
    if (!ok()) throw Error(prefix + error(), code);
    return std::move(std::get<T>(v_));
  }

 private:
  struct Failure {
    std::string message;
  };
  Result() = default;
  T& ensure() {
    if (!ok()) throw Error(error());
    return std::get<T>(v_);
  }
  std::variant<T, Failure> v_;
};

}  // namespace podlift
