#include "config/config.hpp"

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;  // NOLINT

namespace tacos::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool parse_int(std::string_view s, std::int64_t& out) {
  s = trim(s);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_bool(std::string_view s, bool& out) {
  if (s == "true" || s == "1" || s == "yes" || s == "on")
    out = true;
  else if (s == "false" || s == "0" || s == "no" || s == "off")
    out = false;
  else
    return false;
  return true;
}

bool in_choices(std::string_view choices, std::string_view v) {
  while (!choices.empty()) {
    auto bar = choices.find('|');
    if (choices.substr(0, bar) == v) return true;
    if (bar == std::string_view::npos) break;
    choices.remove_prefix(bar + 1);
  }
  return false;
}

std::string validate_type(const KeyDecl& d, std::string_view text) {
  switch (d.type) {
    case Type::string:
      return {};
    case Type::integer: {
      std::int64_t n;
      if (!parse_int(text, n)) return "'" + std::string(text) + "' is not an integer";
      if (n < d.min || n > d.max) {
        return std::string(text) + " is outside " + std::to_string(d.min) + ".." + std::to_string(d.max);
      }
      return {};
    }
    case Type::boolean: {
      bool b;
      if (!parse_bool(text, b)) return "'" + std::string(text) + "' is not a boolean (true/false)";
      return {};
    }
    case Type::choice:
      if (!in_choices(d.choices, text)) {
        return "'" + std::string(text) + "' is not one of " + std::string(d.choices);
      }
      return {};
  }
  return {};
}

std::string validate(const KeyDecl& d, std::string_view text) {
  auto problem = validate_type(d, text);
  if (problem.empty() && d.check && !(d.type == Type::string && text.empty())) problem = d.check(text);
  return problem;
}

std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && ((v.front() == '"' && v.back() == '"') || (v.front() == '\'' && v.back() == '\''))) {
    v = v.substr(1, v.size() - 2);
  }
  return std::string(v);
}

}  // namespace

const KeyDecl* find_declaration(std::string_view name) {
  for (const auto& d : declarations()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::string env_name(std::string_view key) {
  std::string out = "TACOS_";
  for (char c : key) {
    out.push_back(c == '.' || c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

const Value& Config::value(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::logic_error("undeclared config key: " + std::string(key));
  return it->second;
}

std::string Config::string(std::string_view key) const { return value(key).text; }

std::int64_t Config::integer(std::string_view key) const {
  std::int64_t n = 0;
  if (!parse_int(value(key).text, n)) throw std::logic_error("config key is not an integer: " + std::string(key));
  return n;
}

bool Config::boolean(std::string_view key) const {
  bool b = false;
  if (!parse_bool(value(key).text, b)) throw std::logic_error("config key is not a boolean: " + std::string(key));
  return b;
}

void Config::set(std::string_view key, std::string text, std::string source) {
  values_[std::string(key)] = Value{std::move(text), std::move(source)};
}

std::string Config::print() const {
  std::string out;
  for (const auto& d : declarations()) {
    const auto& v = value(d.name);
    std::string shown = v.text;
    if (d.secret && !shown.empty()) shown = "<redacted>";
    out += std::string(d.name) + " = " + shown + "    # " + v.source + "\n";
  }
  return out;
}

struct Loader {
  Config cfg;
  std::vector<std::string> errors;

  // load() is not a friend of Config; it reaches the values through here.
  Value& slot(const std::string& key) { return cfg.values_[key]; }

  void put(std::string_view key, std::string text, const std::string& source) {
    const KeyDecl* d = find_declaration(key);
    if (!d) {
      errors.push_back(source + ": unknown key '" + std::string(key) + "'");
      return;
    }
    cfg.values_[std::string(key)] = Value{std::move(text), source};
  }

  void load_file(std::string_view path) {
    std::ifstream in{std::string(path)};
    if (!in) {
      errors.push_back("config file " + std::string(path) + ": cannot be read");
      return;
    }
    std::string line;
    std::string section;
    int line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      std::string_view l = trim(line);
      if (l.empty() || l.front() == '#' || l.front() == ';') continue;
      std::string where = "file " + std::string(path) + ":" + std::to_string(line_no);
      if (l.front() == '[') {
        if (l.back() != ']') {
          errors.push_back(where + ": malformed section header");
          continue;
        }
        section = std::string(trim(l.substr(1, l.size() - 2)));
        continue;
      }
      auto eq = l.find('=');
      if (eq == std::string_view::npos) {
        errors.push_back(where + ": expected 'key = value'");
        continue;
      }
      std::string key(trim(l.substr(0, eq)));
      if (!section.empty()) key = section + "." + key;
      put(key, unquote(l.substr(eq + 1)), where);
    }
  }

  void load_env(const std::vector<std::string>& env) {
    for (const auto& kv : env) {
      if (kv.rfind("TACOS_", 0) != 0) continue;
      auto eq = kv.find('=');
      if (eq == std::string::npos) continue;
      std::string name = kv.substr(0, eq);
      if (name == "TACOS_CONFIG") continue;  // names the file, not a key
      const KeyDecl* found = nullptr;
      for (const auto& d : declarations()) {
        if (env_name(d.name) == name) found = &d;
      }
      if (!found) {
        errors.push_back("env " + name + ": unknown variable (no such configuration key)");
        continue;
      }
      put(found->name, kv.substr(eq + 1), "env " + name);
    }
  }
};

LoadResult load(std::string_view file_path, const std::vector<std::string>& env,
                const std::vector<std::pair<std::string, std::string>>& flags) {
  Loader l;
  for (const auto& d : declarations()) l.slot(std::string(d.name)) = Value{std::string(d.default_value), "default"};
  if (!file_path.empty()) l.load_file(file_path);
  l.load_env(env);
  for (const auto& [k, v] : flags) l.put(k, v, "flag --" + k);

  for (const auto& d : declarations()) {
    const auto& v = l.slot(std::string(d.name));
    if (auto problem = validate(d, v.text); !problem.empty()) {
      l.errors.push_back(v.source + ": " + std::string(d.name) + ": " + problem);
    }
  }
  // Rules across keys belong to the modules that read them (runtime::Module::check).
  return LoadResult{std::move(l.cfg), std::move(l.errors)};
}

std::vector<std::string> process_environment() {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) out.emplace_back(*e);
  return out;
}

std::string reference_markdown() {
  std::ostringstream out;
  out << "| key | environment | type | default | allowed | description |\n";
  out << "|---|---|---|---|---|---|\n";
  for (const auto& d : declarations()) {
    std::string type = d.type == Type::string    ? "string"
                       : d.type == Type::integer ? "integer"
                       : d.type == Type::boolean ? "boolean"
                                                 : "choice";
    std::string allowed;
    if (d.type == Type::integer) allowed = std::to_string(d.min) + " .. " + std::to_string(d.max);
    if (d.type == Type::choice) allowed = std::string(d.choices);
    if (d.type == Type::boolean) allowed = "true, false";
    std::string def = d.default_value.empty() ? "(empty)" : "`" + std::string(d.default_value) + "`";
    std::string help(d.help);
    for (auto& c : help)
      if (c == '|') c = '/';
    for (auto& c : allowed)
      if (c == '|') c = ',';
    out << "| `" << d.name << "` | `" << env_name(d.name) << "` | " << type << " | " << def << " | " << allowed << " | "
        << help << (d.secret ? " (secret)" : "") << " |\n";
  }
  return out.str();
}

}  // namespace tacos::config
