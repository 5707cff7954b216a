#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

namespace tacos::log {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance;
  return instance;
}
std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_init_mu;

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

// Length of the well-formed UTF-8 sequence that starts at s[i] (RFC 3629, section 4), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = at(i);
  std::size_t n = lead >= 0xC2 && lead <= 0xDF   ? 2
                  : lead >= 0xE0 && lead <= 0xEF ? 3
                  : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  unsigned char lo = 0x80;  // the second byte's range excludes overlong forms, surrogates, > U+10FFFF
  unsigned char hi = 0xBF;
  if (lead == 0xE0) lo = 0xA0;
  if (lead == 0xED) hi = 0x9F;
  if (lead == 0xF0) lo = 0x90;
  if (lead == 0xF4) hi = 0x8F;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  return n;
}

// Whether any of the 8 bytes at `p` is below 0x20, from 0x80, '"' or '\\': eight bytes per test
// instead of one (a hold's response and outbox event escape about a thousand characters).
bool needs_escaping(const char* p) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  auto has_zero_byte = [](std::uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  auto has_byte_below_0x20 = (w - kOnes * 0x20) & ~w & kHighs;
  auto has_quote_or_backslash = has_zero_byte(w ^ (kOnes * '"')) | has_zero_byte(w ^ (kOnes * '\\'));
  return (has_byte_below_0x20 | (w & kHighs) | has_quote_or_backslash) != 0;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (std::size_t i = 0; i < text.size(); ++i) {
    // Runs of printable ASCII other than '"' and '\\' (nearly everything) are copied whole.
    std::size_t run = i;
    while (run + 8 <= text.size() && !needs_escaping(text.data() + run)) run += 8;
    while (run < text.size()) {
      auto b = static_cast<unsigned char>(text[run]);
      if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(text.data() + i, run - i);
      i = run;
      if (i == text.size()) break;
    }
    char c = text[i];
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      // JSON text is UTF-8 (RFC 8259): a byte that does not start a well-formed sequence (a raw
      // request path, say) becomes U+FFFD instead of making the whole document invalid.
      if (auto n = utf8_sequence(text, i)) {
        out.append(text.substr(i, n));
        i += n - 1;
      } else {
        out += "\\ufffd";
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

Field str(std::string_view key, std::string_view value) {
  Field f{key, {}};
  append_json_string(f.json, value);
  return f;
}
Field num(std::string_view key, long long value) { return {key, std::to_string(value)}; }
Field dbl(std::string_view key, double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  return {key, buf};
}
Field boolean(std::string_view key, bool value) { return {key, value ? "true" : "false"}; }

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug")
    out = Level::debug;
  else if (text == "info")
    out = Level::info;
  else if (text == "warn")
    out = Level::warn;
  else if (text == "error")
    out = Level::error;
  else if (text == "off")
    out = Level::off;
  else
    return false;
  return true;
}

void init(Level level, std::string_view role) {
  std::lock_guard lock(g_init_mu);
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto lg = std::make_shared<spdlog::logger>("tacos", sink);
  std::string role_json;
  append_json_string(role_json, role);
  // spdlog writes ts and level; the rest of the object is rendered by write().
  lg->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","role":)" + role_json + ",%v}",
                  spdlog::pattern_time_type::utc);
  lg->set_level(to_spd(level));
  lg->flush_on(spdlog::level::warn);
  spdlog::drop("tacos");
  spdlog::register_logger(lg);
  spdlog::flush_every(std::chrono::seconds(1));
  logger() = lg;
  g_level = static_cast<int>(level);
}

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

namespace {
std::atomic<ContextFields> g_context_fields{nullptr};
}  // namespace

void set_context_fields(ContextFields fn) { g_context_fields.store(fn, std::memory_order_release); }

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  auto lg = logger();
  if (!lg) {
    init(Level::info, "tacos");
    lg = logger();
  }
  std::string line;
  line.reserve(64 + msg.size());
  line += "\"msg\":";
  append_json_string(line, msg);
  bool has_trace = false;
  for (const auto& f : fields) {
    line.push_back(',');
    append_json_string(line, f.key);
    line.push_back(':');
    line += f.json;
    has_trace = has_trace || f.key == "trace_id";
  }
  if (auto context = g_context_fields.load(std::memory_order_acquire); context && !has_trace) context(line);
  lg->log(to_spd(level), "{}", line);
}

}  // namespace tacos::log
