#pragma once
// Distributed tracing: spans in W3C trace context, exported with OTLP/HTTP as JSON (OTLP/JSON:
// no protobuf compiler or generated code in the build, and any OpenTelemetry collector takes it
// on /v1/traces). A server span per request (ObservabilityMiddleware), a client span per call to
// another service (Upstream), which sends `traceparent` on so the callee's server span is its
// child.
//
// Sampling is parent-based: a request with a `traceparent` follows its sampled flag; a new trace
// is sampled when its id falls under `ratio` (decided by the trace id, so every role agrees).
// Export is off the request path: record() only appends to a bounded queue (a full queue drops
// the span and counts it); one thread of the Tracer posts batches. Owned by serve; reached
// through tracer() (null when tracing is off).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace tacos::metrics {
class Registry;
}

namespace tacos::net::tracing {

enum class SpanKind : int { internal = 1, server = 2, client = 3 };

struct Span {
  std::string trace_id;        // 32 lower-case hex digits
  std::string span_id;         // 16
  std::string parent_span_id;  // 16, or empty for a root
  std::string trace_state;     // W3C tracestate, as the request carried it
  std::string name;
  SpanKind kind = SpanKind::internal;
  std::int64_t start_unix_ns = 0;
  std::int64_t end_unix_ns = 0;
  std::vector<std::pair<std::string, std::string>> attributes;
  /// Spans of other traces this one follows from (trace id, span id): a job's run links to the
  /// request that wrote the job.
  std::vector<std::pair<std::string, std::string>> links;
  bool error = false;
};

struct Settings {
  std::string endpoint;  // http://host:port/v1/traces
  std::string service_name = "tacos";
  double ratio = 1.0;  // of new traces; a traceparent's flag decides for the rest
  std::size_t queue_capacity = 8192;
  std::size_t batch = 512;
  int flush_ms = 1000;
  int timeout_ms = 2000;
};

/// The settings from the OpenTelemetry environment (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or
/// OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces"; OTEL_SERVICE_NAME; OTEL_TRACES_SAMPLER_ARG) laid
/// under the tacos ones: a tacos key that is set wins. Errc::validation_failed for a ratio outside
/// [0, 1] or an endpoint that is not an http:// URL.
struct Configured {
  std::string endpoint;
  std::string service_name;
  std::string ratio;
};
Result<Settings> settings_from(const Configured& tacos_keys);

class Tracer {
 public:
  /// Starts the export thread. `metrics` (optional) gets the spans exported and dropped.
  Tracer(Settings settings, metrics::Registry* metrics);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  /// Whether a new trace with this id is recorded.
  bool sample_root(std::string_view trace_id) const;
  /// Queues a finished span for export. Never blocks on the network.
  void record(Span span);
  /// Exports what is queued now and waits for it (tests, shutdown).
  void flush();

  struct Stats {
    std::uint64_t exported = 0;
    std::uint64_t dropped = 0;  // queue full, or the collector did not take the batch
  };
  Stats stats() const;
  const Settings& settings() const { return s_; }

 private:
  void run();
  bool post(const std::vector<Span>& batch);

  Settings s_;
  std::string host_;
  std::uint16_t port_ = 0;
  std::string path_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Span> queue_;
  bool stopping_ = false;
  std::uint64_t flush_asked_ = 0;
  std::uint64_t flush_done_ = 0;
  Stats stats_;
  std::thread thread_;
};

/// The process's tracer, or null when tracing is off.
Tracer* tracer();
void set_tracer(Tracer* t);

/// A trace context as `traceparent` carries it.
struct Parent {
  std::string trace_id;
  std::string span_id;
  bool sampled = false;
};
/// Parses a W3C `traceparent` (version 00, or a later one's first four fields).
std::optional<Parent> parse_traceparent(std::string_view header);
std::string traceparent(std::string_view trace_id, std::string_view span_id, bool sampled);
/// The traceparent of the span the calling thread is serving (net/call_context.hpp), or "" when
/// none or tracing is off: what a job written now keeps (store::Job::trace_parent).
std::string current_traceparent();

/// 16 random lower-case hex digits (a span id).
std::string new_span_id();
/// True for 32 lower-case hex digits, not all zero.
bool valid_trace_id(std::string_view id);
std::int64_t now_unix_ns();

/// The OTLP/JSON body of an ExportTraceServiceRequest for these spans.
std::string otlp_json(std::string_view service_name, const std::vector<Span>& spans);

}  // namespace tacos::net::tracing
