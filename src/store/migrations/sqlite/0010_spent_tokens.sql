-- The single use of each reservation (entry) token, recorded in the transaction of the hold it
-- paid for: a hold that fails leaves the token unspent, and a token is never spent twice, even
-- by two requests racing each other or a retry after a crash.
CREATE TABLE spent_tokens (
  token_id    TEXT PRIMARY KEY,  -- event id '/' queue ticket
  event_id    TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  spent_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
