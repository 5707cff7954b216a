#include "common/json_reader.hpp"

#include <nlohmann/json.hpp>

namespace tacos {

Result<nlohmann::json> parse_json_object(std::string_view body, int max_depth) {
  // Depth pre-scan that respects strings, so '[' inside a string does not count.
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        return Error(Errc::invalid_json, "JSON nesting deeper than " + std::to_string(max_depth) + " levels");
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  if (body.empty()) return Error(Errc::invalid_json, "request body must be a JSON object");
  auto j = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error(Errc::invalid_json, "request body is not valid JSON");
  if (!j.is_object()) return Error(Errc::invalid_json, "request body must be a JSON object");
  return j;
}

JsonReader::JsonReader(const nlohmann::json& obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

std::string JsonReader::field_name(std::string_view key) const { return prefix_ + std::string(key); }

void JsonReader::fail(std::string_view key, std::string message) {
  if (!error_) error_ = Error(Errc::validation_failed, std::move(message), field_name(key));
}

const nlohmann::json* JsonReader::get(std::string_view key, bool required, const char* type_name) {
  if (error_) return nullptr;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    if (required) fail(key, "field '" + field_name(key) + "' is required");
    return nullptr;
  }
  (void)type_name;
  return &*it;
}

std::string JsonReader::required_string(std::string_view key, std::size_t min_len, std::size_t max_len) {
  auto v = optional_string(key, max_len);
  if (!error_ && !v) fail(key, "field '" + field_name(key) + "' is required");
  if (error_ || !v) return {};
  if (v->size() < min_len) {
    fail(key, "field '" + field_name(key) + "' must be at least " + std::to_string(min_len) + " characters");
    return {};
  }
  return *v;
}

std::optional<std::string> JsonReader::optional_string(std::string_view key, std::size_t max_len) {
  const auto* v = get(key, false, "string");
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    fail(key, "field '" + field_name(key) + "' must be a string");
    return std::nullopt;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_len) {
    fail(key, "field '" + field_name(key) + "' must be at most " + std::to_string(max_len) + " characters");
    return std::nullopt;
  }
  return s;
}

std::int64_t JsonReader::required_int(std::string_view key, std::int64_t min, std::int64_t max) {
  auto v = optional_int(key, min, max);
  if (!error_ && !v) fail(key, "field '" + field_name(key) + "' is required");
  return v.value_or(0);
}

std::optional<std::int64_t> JsonReader::optional_int(std::string_view key, std::int64_t min, std::int64_t max) {
  const auto* v = get(key, false, "integer");
  if (!v) return std::nullopt;
  std::int64_t n = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      fail(key, "field '" + field_name(key) + "' is out of range");
      return std::nullopt;
    }
    n = v->get<std::int64_t>();
  } else {
    fail(key, "field '" + field_name(key) + "' must be an integer");
    return std::nullopt;
  }
  if (n < min || n > max) {
    fail(key, "field '" + field_name(key) + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> JsonReader::optional_bool(std::string_view key) {
  const auto* v = get(key, false, "boolean");
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    fail(key, "field '" + field_name(key) + "' must be true or false");
    return std::nullopt;
  }
  return v->get<bool>();
}

const nlohmann::json* JsonReader::array(std::string_view key, bool required, std::size_t max_items) {
  const auto* v = get(key, required, "array");
  if (!v) return nullptr;
  if (!v->is_array()) {
    fail(key, "field '" + field_name(key) + "' must be an array");
    return nullptr;
  }
  if (v->size() > max_items) {
    fail(key, "field '" + field_name(key) + "' has more than " + std::to_string(max_items) + " items");
    return nullptr;
  }
  return v;
}

const nlohmann::json* JsonReader::object(std::string_view key, bool required) {
  const auto* v = get(key, required, "object");
  if (!v) return nullptr;
  if (!v->is_object()) {
    fail(key, "field '" + field_name(key) + "' must be an object");
    return nullptr;
  }
  return v;
}

}  // namespace tacos
