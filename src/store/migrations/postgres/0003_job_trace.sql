-- A job keeps the W3C traceparent of the request (or job) that wrote it, so its run is traced
-- with a link back to it (net/tracing.hpp). Empty when tracing was off.
ALTER TABLE jobs ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
