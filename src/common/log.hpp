#pragma once
// Structured logging: one JSON object per line on stdout
// ({"ts","level","msg","role",...fields}). Thread-safe; backed by spdlog.
// Never pass passwords, tokens or payment data as fields.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace tacos::log {

enum class Level { debug, info, warn, error, off };

/// A field value already rendered as JSON (use the helpers below to build one).
struct Field {
  std::string_view key;
  std::string json;
};
Field str(std::string_view key, std::string_view value);
Field num(std::string_view key, long long value);
Field dbl(std::string_view key, double value);
Field boolean(std::string_view key, bool value);

/// Sets up the process logger. `role` appears on every line. Safe to call again (tests).
void init(Level level, std::string_view role);
bool parse_level(std::string_view text, Level& out);
bool enabled(Level level);

void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void debug(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::debug, msg, f); }
inline void info(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::info, msg, f); }
inline void warn(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::warn, msg, f); }
inline void error(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::error, msg, f); }

/// Adds the calling thread's context to a line (net/call_context.cpp installs one that appends
/// the trace_id and span_id of the request being served). Lines that name a trace_id themselves
/// are left alone. Set once, before threads log.
using ContextFields = void (*)(std::string& line);
void set_context_fields(ContextFields fn);

/// Appends `text` to `out` as a JSON string literal (quoted and escaped).
void append_json_string(std::string& out, std::string_view text);

}  // namespace tacos::log
