#pragma once
// Typed, named access to a JSON request body. Every problem becomes an Error naming the field
// ("field 'username' must be a string"), never an exception reaching the client.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace tacos {

/// Parses a request body as one JSON object. Rejects invalid JSON, non-objects and nesting
/// deeper than `max_depth` (checked before parsing so hostile input cannot exhaust the stack).
Result<nlohmann::json> parse_json_object(std::string_view body, int max_depth = 32);

/// Reads fields of one JSON object; the first problem is kept and later reads become no-ops.
/// Typical use:
///   JsonReader r(body);  auto name = r.required_string("username"); if (!r.ok()) return r.error();
class JsonReader {
 public:
  /// `prefix` is prepended to field names in messages ("sections[2].").
  explicit JsonReader(const nlohmann::json& obj, std::string prefix = {});

  std::string required_string(std::string_view key, std::size_t min_len = 1, std::size_t max_len = 1024);
  std::optional<std::string> optional_string(std::string_view key, std::size_t max_len = 1024);
  std::int64_t required_int(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> optional_int(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<bool> optional_bool(std::string_view key);
  /// The array at `key` (nullptr when absent and not required, or after an error).
  const nlohmann::json* array(std::string_view key, bool required, std::size_t max_items = 100000);
  const nlohmann::json* object(std::string_view key, bool required);

  bool ok() const { return !error_.has_value(); }
  const Error& error() const { return *error_; }
  /// Records a problem found by the caller's own checks (first one wins).
  void fail(std::string_view key, std::string message);
  std::string field_name(std::string_view key) const;

 private:
  const nlohmann::json* get(std::string_view key, bool required, const char* type_name);
  const nlohmann::json& obj_;
  std::string prefix_;
  std::optional<Error> error_;
};

}  // namespace tacos
