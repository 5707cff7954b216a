// The API client the pages use: same origin, the signed-in user's token.
import { ApiClient } from "./client";
import { currentToken, expireSession } from "../auth/session";

export const api = new ApiClient({ token: currentToken, onSessionExpired: expireSession });
export { ApiError, ActionKey } from "./client";
export { describeError } from "./errors";
