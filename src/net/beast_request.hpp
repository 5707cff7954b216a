#pragma once
// Internal to src/net (includes Beast): how the server reads a request. The limits a parser gets,
// what each read error means for the client, the checks on a complete header, and the conversion
// of a Beast message into a Request. server.cpp and request_parse.cpp share these, so the fuzzer
// runs the server's code, not a copy of it.

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "net/http.hpp"
#include "net/server.hpp"

namespace tacos::net::detail {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// Sets the header and body limits of `options` on a fresh parser.
void apply_limits(RequestParser& parser, const ServerOptions& options);

/// What to answer when reading the header failed; nullopt: close without answering (the peer
/// went away or timed out).
std::optional<Error> header_read_error(const boost::system::error_code& ec, const ServerOptions& options);

/// What to answer when reading the body failed; nullopt: close without answering.
std::optional<Error> body_read_error(const boost::system::error_code& ec, const ServerOptions& options);

/// Checks a complete header against the URL, header-count and body-size limits.
Status check_header(const RequestParser& parser, const ServerOptions& options);

/// The parsed message as a Request (header names lower-cased, target split into path and query).
Request to_request(boost::beast::http::request<boost::beast::http::string_body>&& msg, std::string remote_ip);

}  // namespace tacos::net::detail
