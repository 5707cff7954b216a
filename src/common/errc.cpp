#include "common/errc.hpp"

#include <array>
#include <cstddef>

namespace tacos {
namespace {

constexpr std::size_t kErrcCount = static_cast<std::size_t>(Errc::kCount);

// The one table deciding what each error looks like on the wire. Order follows the enum.
constexpr std::array<ErrcInfo, kErrcCount> kTable{{
    {400, "BAD_REQUEST"},
    {400, "INVALID_JSON"},
    {400, "VALIDATION_FAILED"},
    {413, "PAYLOAD_TOO_LARGE"},
    {431, "HEADERS_TOO_LARGE"},
    {414, "URI_TOO_LONG"},
    {404, "NOT_FOUND"},
    {405, "METHOD_NOT_ALLOWED"},
    {401, "UNAUTHORIZED"},
    {401, "INVALID_TOKEN"},
    {401, "TOKEN_EXPIRED"},
    {401, "INVALID_CREDENTIALS"},
    {403, "FORBIDDEN"},
    {409, "CONFLICT"},
    {409, "USERNAME_TAKEN"},
    {409, "EVENT_EXISTS"},
    {412, "PRECONDITION_FAILED"},
    {409, "IDEMPOTENCY_KEY_IN_USE"},
    {422, "IDEMPOTENCY_KEY_MISMATCH"},
    {403, "NOT_READY"},
    {404, "NOT_IN_QUEUE"},
    {410, "PLACE_LOST"},
    {403, "TOKEN_ALREADY_USED"},
    {403, "RESERVATION_TOKEN_INVALID"},
    {403, "RESERVATION_TOKEN_EXPIRED"},
    {403, "RESERVATION_TOKEN_WRONG_USER"},
    {403, "RESERVATION_TOKEN_WRONG_EVENT"},
    {409, "SEAT_UNAVAILABLE"},
    {409, "SOLD_OUT"},
    {409, "TICKET_LIMIT_REACHED"},
    {410, "RESERVATION_EXPIRED"},
    {409, "RESERVATION_NOT_CANCELLABLE"},
    {409, "RESERVATION_CANCELLED"},
    {412, "PAYMENT_NOT_APPROVED"},
    {409, "PAYMENT_NOT_PAYABLE"},
    {401, "INVALID_SIGNATURE"},
    {429, "RATE_LIMITED"},
    {503, "TOO_MANY_CONNECTIONS"},
    {503, "UNAVAILABLE"},
    {502, "BAD_GATEWAY"},
    {504, "TIMEOUT"},
    {500, "INTERNAL"},
}};

}  // namespace

std::optional<Errc> errc_from_code(std::string_view code) {
  for (std::size_t i = 0; i < kErrcCount; ++i) {
    if (kTable[i].code == code) return static_cast<Errc>(i);
  }
  return std::nullopt;
}

const ErrcInfo& errc_info(Errc e) {
  auto i = static_cast<std::size_t>(e);
  if (i >= kErrcCount) i = static_cast<std::size_t>(Errc::internal);
  return kTable[i];
}

}  // namespace tacos
