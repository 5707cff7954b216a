#pragma once
// Configuration: every key is declared once (name, type, default, bounds, help, check): the
// process-wide keys in keys.cpp, each module's own beside its settings (register_keys).
// Values are layered defaults < file < TACOS_* environment < command-line flags; all problems
// (unknown keys, bad values) are collected and reported together.
// A Config is immutable after load() and safe to read from any thread.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tacos::config {

enum class Type { string, integer, boolean, choice };

struct KeyDecl {
  std::string_view name;  // dotted, e.g. "http.port"
  Type type;
  std::string_view default_value;
  std::string_view help;
  std::int64_t min = 0;  // integer bounds (inclusive)
  std::int64_t max = 0;
  std::string_view choices = {};  // for Type::choice: values separated by '|'
  bool secret = false;            // redacted when printed
  /// Checks a value beyond its type and bounds (a URL, a rate, a keyring): the problem, or "".
  std::string (*check)(std::string_view value) = nullptr;
};

/// Adds a module's keys (once per key name; a second registration of a name is ignored). Call
/// before load(); not thread-safe with load().
void register_keys(std::span<const KeyDecl> keys);
/// The declared keys, in documentation order: keys.cpp's, then the registered ones.
std::span<const KeyDecl> declarations();
const KeyDecl* find_declaration(std::string_view name);
/// `http.max_body_bytes` -> `TACOS_HTTP_MAX_BODY_BYTES`.
std::string env_name(std::string_view key);

struct Value {
  std::string text;
  std::string source;  // "default", "file /path", "env TACOS_X", "flag --x"
};

class Config {
 public:
  std::string string(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  bool boolean(std::string_view key) const;
  const Value& value(std::string_view key) const;

  /// One `key = value   # source` line per key; secrets shown as <redacted> when set.
  std::string print() const;

  /// Sets a value directly (tests and start-up wiring); not validated.
  void set(std::string_view key, std::string text, std::string source = "code");

 private:
  friend struct Loader;
  std::map<std::string, Value, std::less<>> values_;
};

struct LoadResult {
  Config config;
  std::vector<std::string> errors;  // empty when the configuration is valid
  bool ok() const { return errors.empty(); }
};

/// Loads and validates. `file_path` may be empty; `env` is the process environment
/// (KEY=VALUE strings); `flags` are `{key, value}` pairs from the command line.
LoadResult load(std::string_view file_path, const std::vector<std::string>& env,
                const std::vector<std::pair<std::string, std::string>>& flags);

/// The current process environment as KEY=VALUE strings.
std::vector<std::string> process_environment();

/// Markdown table of every key (docs/configuration.md is checked against this).
std::string reference_markdown();

}  // namespace tacos::config
