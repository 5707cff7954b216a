#pragma once
// How the server puts a Response on the wire: the status line and header block rendered into one
// string, sent together with the body in one gathered write. Boost-free (the reason phrases come
// from Beast inside the .cpp).

#include <string>

#include "net/http.hpp"

namespace tacos::net {

/// Whether a response with this status never carries a body (1xx, 204, 304).
bool bodyless_status(int status);

/// The status line and headers of `res` for an HTTP/1.`version % 10` client, ending with the
/// blank line: `Server`, `Content-Type` (not for bodyless statuses), the response's own headers,
/// `Connection` when it differs from the version's default, and `Content-Length` (the body's
/// length, also for a HEAD request, whose body is not sent; none for bodyless statuses).
std::string render_response_head(const Response& res, unsigned version, bool keep_alive);

}  // namespace tacos::net
