#pragma once
// Appends JSON to a string without building a document first: for the answers and events made on
// every hold, where nlohmann::json's tree of maps cost more than the work itself. The caller
// writes keys in the order it wants (the hot paths keep nlohmann's alphabetical order, so the
// bytes did not change). Strings are escaped as log::append_json_string does (invalid UTF-8
// becomes U+FFFD), so the output is always valid JSON.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tacos {

class JsonWriter {
 public:
  explicit JsonWriter(std::size_t reserve = 256) { out_.reserve(reserve); }

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  /// The next member's name; a value (or begin_*) must follow.
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(std::int64_t n);
  JsonWriter& value(int n) { return value(static_cast<std::int64_t>(n)); }
  JsonWriter& value(bool b);
  JsonWriter& null();
  /// An array of strings.
  JsonWriter& value(const std::vector<std::string>& strings);

  /// Shorthand for key(name).value(v).
  template <class T>
  JsonWriter& member(std::string_view name, const T& v) {
    return key(name).value(v);
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();  // a comma before every element but the first of its container

  std::string out_;
  bool first_ = true;       // nothing written yet in the innermost container
  bool after_key_ = false;  // a key was just written: no comma before its value
};

}  // namespace tacos
