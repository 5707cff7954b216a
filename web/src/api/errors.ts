// Every error the UI shows, in words a fan understands, chosen from the envelope's error.code.
// The server's own message is technical; it is shown only where it names something useful
// (the seats that were taken, the form field at fault).

import { ApiError } from "./client";

const FIELD_LABELS: Record<string, string> = {
  username: "username",
  password: "password",
  email: "email address",
  display_name: "display name",
  name: "name",
  venue: "venue",
  starts_at: "start time",
  sale_starts_at: "sale start time",
  sections: "sections",
  general_admission: "general admission",
  seat_ids: "seats",
  quantity: "number of tickets",
  admission_rate: "admission rate",
  active_buyer_cap: "active-buyer cap",
  hold_ttl_sec: "hold time",
  max_seats_per_reservation: "seats per order",
  max_tickets_per_user: "tickets per fan",
  currency: "currency",
  id: "event id",
};

export function seconds(n: number): string {
  return n === 1 ? "1 second" : `${n} seconds`;
}

/** The seat ids a SEAT_UNAVAILABLE message names ("seats no longer available: VIP-2-3, VIP-2-4"). */
export function takenSeats(message: string): string[] {
  const i = message.indexOf(":");
  if (i < 0) return [];
  return message
    .slice(i + 1)
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter((s) => /^[A-Za-z0-9]+-\d+-\d+$/.test(s));
}

const WORDS: Record<string, string> = {
  BAD_REQUEST: "The app sent a request the server could not read. Please reload the page and try again.",
  INVALID_JSON: "The app sent a request the server could not read. Please reload the page and try again.",
  PAYLOAD_TOO_LARGE: "That request was too large for the server. Please try with less at once.",
  HEADERS_TOO_LARGE: "That request was too large for the server. Please reload the page and try again.",
  URI_TOO_LONG: "That request was too large for the server. Please reload the page and try again.",
  NOT_FOUND: "We could not find that. It may have been removed, or the link is wrong.",
  METHOD_NOT_ALLOWED: "The app asked for something the server does not offer. Please reload the page.",
  UNAUTHORIZED: "Please sign in to continue.",
  INVALID_TOKEN: "Your session is no longer valid. Please sign in again.",
  TOKEN_EXPIRED: "Your session has expired. Please sign in again.",
  INVALID_CREDENTIALS: "That username and password do not match. Please check them and try again.",
  FORBIDDEN: "This part is for organisers only. Sign in with an organiser account.",
  CONFLICT: "This clashes with something already done (for example, the booking was already paid). Please reload to see where it stands.",
  IDEMPOTENCY_KEY_IN_USE: "Your previous try is still being processed. Wait a moment, then try again: it will not be done twice.",
  IDEMPOTENCY_KEY_MISMATCH: "This request clashed with an earlier one. Please try again.",
  USERNAME_TAKEN: "That username is already taken. Please choose another one.",
  EVENT_EXISTS: "An event with that id already exists. Please choose another id.",
  PRECONDITION_FAILED: "Something changed in the meantime. Please reload and try again.",
  NOT_READY: "It is not your turn yet. Stay on this page: we will move you on as soon as it is.",
  NOT_IN_QUEUE: "We could not find your place in the queue. Please join the queue again.",
  PLACE_LOST:
    "Your place in the queue was released (you left, the page stopped checking in for a while, your turn passed, or the queue restarted). Join again to get a new place.",
  TOKEN_ALREADY_USED: "Your pass to choose seats has already been used. To buy more tickets, join the queue again.",
  RESERVATION_TOKEN_INVALID: "Your pass to choose seats is not valid. Please join the queue again.",
  RESERVATION_TOKEN_EXPIRED: "Your time to choose seats ran out. Please join the queue again.",
  RESERVATION_TOKEN_WRONG_USER:
    "Your pass to choose seats was issued to another account. Join the queue again while signed in as yourself.",
  RESERVATION_TOKEN_WRONG_EVENT: "Your pass to choose seats is for a different event. Please join this event's queue.",
  SOLD_OUT: "Sorry, there are not enough tickets left for that many. Try a smaller number.",
  TICKET_LIMIT_REACHED:
    "That would take you past this event's ticket limit per fan (counting the tickets you hold and have bought). Choose fewer, or cancel a hold first.",
  RESERVATION_EXPIRED:
    "Your hold ran out before the payment was finished, so the seats were released. If you were charged, the payment will be refunded.",
  RESERVATION_NOT_CANCELLABLE: "This booking can no longer be changed: it is already confirmed or ended.",
  PAYMENT_NOT_APPROVED: "The payment has not been approved (yet), so the booking is not confirmed.",
  PAYMENT_NOT_PAYABLE: "This booking can no longer be paid: its hold has ended.",
  INVALID_SIGNATURE: "The payment notice could not be verified.",
  UNAVAILABLE: "The ticket service is briefly unavailable and nothing was saved. Please try again in a moment.",
  BAD_GATEWAY: "A part of the ticket service answered badly. Please try again in a moment.",
  TIMEOUT: "The server took too long to answer. Please try again.",
  INTERNAL: "Something went wrong on our side. Please try again.",
};

// Why a waiting token no longer stands for a place: the `reason` of a queue status "expired".
const EXPIRED_PLACE: Record<string, string> = {
  left: "You left the queue. Join again to get a new place at the back.",
  abandoned:
    "Your place in the queue was released because this page stopped checking in for a while. Join again to get a new place.",
  lapsed: "Your turn came, but seats were not chosen in time, so the place was released. Join again to get a new place.",
  used: "Your turn in this queue has already been used to hold seats. To buy more tickets, join the queue again.",
  token_expired: "Your place in the queue is too old to use. Join again to get a new place.",
};

/** The error shown when a poll answers status "expired" (a UI-only code, PLACE_EXPIRED). */
export function placeExpiredError(reason: string | undefined): ApiError {
  return new ApiError({
    status: 200,
    code: "PLACE_EXPIRED",
    message: EXPIRED_PLACE[reason ?? ""] ?? "Your place in the queue has ended. Join again to get a new place.",
  });
}

/** One sentence (or two) for any error the UI can meet. */
export function describeError(err: unknown): string {
  if (!(err instanceof ApiError)) {
    return "Something unexpected went wrong in the page. Please reload and try again.";
  }
  switch (err.code) {
    case "PLACE_EXPIRED":
      return err.message;
    case "NETWORK":
      return "We cannot reach the ticket server right now. Check your internet connection; nothing is lost by trying again.";
    case "RATE_LIMITED":
      return err.retryAfterSec !== undefined
        ? `Lots of people are buying right now and the server asked us to slow down. Please wait ${seconds(err.retryAfterSec)} before trying again.`
        : "Lots of people are buying right now and the server asked us to slow down. Please wait a little before trying again.";
    case "SEAT_UNAVAILABLE": {
      const seats = takenSeats(err.message);
      const which = seats.length ? (seats.length === 1 ? `seat ${seats[0]} was` : `seats ${seats.join(", ")} were`) : "some of those seats were";
      return `Sorry, ${which} just taken by someone else. Nothing was held: please pick other seats.`;
    }
    case "VALIDATION_FAILED": {
      if (err.field === "Idempotency-Key") return "The app sent a request without its safety key. Please reload the page and try again.";
      const label = err.field ? FIELD_LABELS[err.field] ?? err.field.replace(/_/g, " ") : null;
      const detail = err.message ? ` (${err.message})` : "";
      return label ? `Please check the ${label}${detail}.` : `Something in the request is not right${detail}.`;
    }
  }
  const known = WORDS[err.code];
  if (known) {
    if (err.code === "UNAVAILABLE" && err.retryAfterSec !== undefined) {
      return `The ticket service is briefly unavailable and nothing was saved. Please try again in ${seconds(err.retryAfterSec)}.`;
    }
    return known;
  }
  if (err.status === 429) return describeError(new ApiError({ ...err, code: "RATE_LIMITED", message: err.message, status: 429 }));
  if (err.status >= 500) return "Something went wrong on our side. Please try again.";
  if (err.status === 401) return WORDS.UNAUTHORIZED;
  if (err.status === 403) return "You are not allowed to do that.";
  if (err.status === 404) return WORDS.NOT_FOUND;
  return err.message ? `The server refused this: ${err.message}` : "The server refused this request.";
}

/** A reference the fan can quote to support, when the server gave one and the fault may be ours. */
export function errorReference(err: unknown): string | null {
  if (err instanceof ApiError && err.traceId && (err.status >= 500 || err.code === "INTERNAL")) return err.traceId;
  return null;
}
