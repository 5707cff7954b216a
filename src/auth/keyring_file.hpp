#pragma once
// A token keyring kept in a file of the data directory, so that signed waiting-room tokens stay
// valid across restarts when no keys are configured (decision 0006).

#include <string>
#include <vector>

#include "auth/signed_token.hpp"
#include "common/result.hpp"

namespace tacos::auth {

/// Reads the keyring at `path` ("kid:secret" items separated by commas or lines; `#` starts a
/// comment line). When the file does not exist, creates it (mode 0600, written to a temporary
/// file, synced and renamed) with one random key named `new_key_id`. Errors name the file: a
/// malformed keyring is reported, never replaced.
Result<std::vector<SigningKey>> load_or_create_keyring(const std::string& path, const std::string& new_key_id);

}  // namespace tacos::auth
