import { describe, expect, it } from "vitest";
import { ApiError } from "./client";
import { describeError, errorReference, takenSeats } from "./errors";

const err = (code: string, status: number, message = "", extra: Partial<{ field: string; retryAfterSec: number; traceId: string }> = {}) =>
  new ApiError({ code, status, message, ...extra });

// Every code of the error table in docs/api.md (src/common/errc.cpp).
const DOCUMENTED: Array<[string, number]> = [
  ["BAD_REQUEST", 400], ["INVALID_JSON", 400], ["VALIDATION_FAILED", 400], ["PAYLOAD_TOO_LARGE", 413],
  ["HEADERS_TOO_LARGE", 413], ["URI_TOO_LONG", 414], ["NOT_FOUND", 404], ["METHOD_NOT_ALLOWED", 405],
  ["UNAUTHORIZED", 401], ["INVALID_TOKEN", 401], ["TOKEN_EXPIRED", 401], ["INVALID_CREDENTIALS", 401],
  ["FORBIDDEN", 403], ["CONFLICT", 409], ["USERNAME_TAKEN", 409], ["EVENT_EXISTS", 409],
  ["PRECONDITION_FAILED", 412], ["NOT_READY", 403], ["NOT_IN_QUEUE", 404], ["PLACE_LOST", 410],
  ["TOKEN_ALREADY_USED", 403], ["RESERVATION_TOKEN_INVALID", 403], ["RESERVATION_TOKEN_EXPIRED", 403],
  ["RESERVATION_TOKEN_WRONG_USER", 403], ["RESERVATION_TOKEN_WRONG_EVENT", 403], ["SEAT_UNAVAILABLE", 409],
  ["SOLD_OUT", 409], ["TICKET_LIMIT_REACHED", 409], ["RESERVATION_EXPIRED", 410], ["RESERVATION_NOT_CANCELLABLE", 409],
  ["PAYMENT_NOT_APPROVED", 412], ["PAYMENT_NOT_PAYABLE", 409],
  ["INVALID_SIGNATURE", 401], ["RATE_LIMITED", 429], ["IDEMPOTENCY_KEY_IN_USE", 409], ["IDEMPOTENCY_KEY_MISMATCH", 422], ["UNAVAILABLE", 503], ["BAD_GATEWAY", 502], ["TIMEOUT", 504], ["INTERNAL", 500],
];

describe("describeError", () => {
  it.each(DOCUMENTED)("has its own words for %s", (code, status) => {
    const text = describeError(err(code, status, "server detail"));
    expect(text).not.toMatch(/server refused|Something unexpected/);
    expect(text).not.toContain(code);
    expect(text.length).toBeGreaterThan(20);
  });

  it("names the seats someone else took", () => {
    expect(describeError(err("SEAT_UNAVAILABLE", 409, "seats no longer available: VIP-2-3"))).toBe(
      "Sorry, seat VIP-2-3 was just taken by someone else. Nothing was held: please pick other seats.",
    );
    expect(takenSeats("seats no longer available: A-1-1, B-10-2")).toEqual(["A-1-1", "B-10-2"]);
  });

  it("says how long to wait on 429", () => {
    expect(describeError(err("RATE_LIMITED", 429, "", { retryAfterSec: 12 }))).toContain("Please wait 12 seconds");
    expect(describeError(err("SOMETHING_NEW", 429))).toContain("slow down");
  });

  it("says the server cannot be reached when the network fails", () => {
    expect(describeError(err("NETWORK", 0))).toMatch(/cannot reach the ticket server/);
  });

  it("points at the form field at fault", () => {
    expect(describeError(err("VALIDATION_FAILED", 400, "field 'email' is required", { field: "email" }))).toBe(
      "Please check the email address (field 'email' is required).",
    );
  });

  it("falls back on the status for codes it does not know", () => {
    expect(describeError(err("BRAND_NEW", 502))).toMatch(/wrong on our side/);
    expect(describeError(err("BRAND_NEW", 403))).toBe("You are not allowed to do that.");
    expect(describeError(new Error("boom"))).toMatch(/reload/);
  });

  it("gives a reference only for faults that may be ours", () => {
    expect(errorReference(err("INTERNAL", 500, "", { traceId: "t-1" }))).toBe("t-1");
    expect(errorReference(err("SOLD_OUT", 409, "", { traceId: "t-2" }))).toBeNull();
  });
});
