#include "devnet/state.h"

namespace relay::devnet {

int64_t Usage::at(int64_t now_ms) const {
  if (amount == 0 || now_ms >= latest_ms + kResourceWindowMs) return 0;
  if (now_ms <= latest_ms) return amount;
  // Linear recovery: what is left after (now − latest) of the window has passed, rounded up so a
  // partially recovered unit still counts as used.
  __int128 remaining = static_cast<__int128>(amount) * (latest_ms + kResourceWindowMs - now_ms);
  return static_cast<int64_t>((remaining + kResourceWindowMs - 1) / kResourceWindowMs);
}

void Usage::consume(int64_t used, int64_t now_ms) {
  amount = at(now_ms) + used;
  latest_ms = now_ms;
}

Account* ChainState::find_account(const common::Address& address) {
  auto it = accounts.find(address);
  return it == accounts.end() ? nullptr : &it->second;
}

const Account* ChainState::find_account(const common::Address& address) const {
  auto it = accounts.find(address);
  return it == accounts.end() ? nullptr : &it->second;
}

const common::Address& usdt_address() {
  static const common::Address address =
      *common::Address::parse("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
  return address;
}

}  // namespace relay::devnet
