#include "energy/quote.h"

namespace relay::energy {

QuoteState quote_state(const Quote& quote, common::TimePoint now) {
  if (quote.used_at) return QuoteState::kUsed;
  // expires_at itself is past: a quote is good strictly before it, as mark_used checks.
  if (now >= quote.expires_at) return QuoteState::kExpired;
  return QuoteState::kOpen;
}

std::string quote_state_name(QuoteState state) {
  switch (state) {
    case QuoteState::kOpen:
      return "open";
    case QuoteState::kExpired:
      return "expired";
    case QuoteState::kUsed:
      return "used";
  }
  return "";
}

bool is_quote_id(std::string_view text) {
  if (text.size() != 18 || !text.starts_with("q_")) return false;
  for (char c : text.substr(2)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace relay::energy
