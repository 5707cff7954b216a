#pragma once
// The server's request reading without the socket: HTTP/1.1 bytes parsed by the same Beast parser,
// limits and checks as a live connection, then turned into a Request. Used by the HTTP fuzzer
// (fuzz/http_request_fuzz.cpp) and by tests; the server itself uses beast_request.hpp, which
// this is built on. Boost-free.

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "net/http.hpp"
#include "net/server.hpp"

namespace tacos::net {

/// Parses the first request in `bytes` as if a client had sent them and then closed its side.
/// The error is the early answer the server would send (headers_too_large, uri_too_long,
/// payload_too_large, bad_request), or bad_request for a request cut short, which the server
/// answers by closing the connection. Bytes after the first request are ignored.
Result<Request> parse_request(std::string_view bytes, const ServerOptions& options, std::string remote_ip = {});

}  // namespace tacos::net
