#include "daemon/ctl_commands.h"

#include <google/protobuf/stubs/logging.h>

#include <cctype>
#include <cstdlib>
#include <iostream>
#include <iterator>

#include "chain/inspect.h"
#include "chain/tx_json.h"
#include "common/address.h"
#include "common/json.h"
#include "daemon/ctl_reclaim.h"
#include "daemon/ctl_store_commands.h"
#include "signer/key_file.h"
#include "signer/signer.h"

namespace relay::daemon {
namespace {

constexpr const char* kUsage =
    "usage: tronrelayctl <command>\n"
    "  tx inspect HEX|-            decode a signed transaction or raw_data (hex or java-tron "
    "JSON)\n"
    "  tx sign --key-file F HEX|-  add the signature of the key in F (its own account's tx only)\n"
    "  key address --key-file F    print the address of the private key in F\n"
    "  address HEX_OR_BASE58       print an address in both forms\n"
    "  [--config FILE] migrate     apply pending database migrations\n"
    "  [--config FILE] status      database reachability and schema version\n"
    "  [--config FILE] tenant create NAME | credit ID SUN | list\n"
    "  [--config FILE] keys create --tenant ID --scopes a,b [--expires-days N] | list [--tenant "
    "ID]\n"
    "                  | revoke ID\n"
    "  [--config FILE] reclaim --due [--dry-run] [--limit N]\n"
    "                  claim and run due lease reclaims once (cron; safe beside daemons)\n"
    "  [--config FILE] reconcile [--dry-run] [--pool ID] [--wait-ms N]\n"
    "                  [--include-permission-pools]\n"
    "                  take back pool delegations no lease explains (orphans); report\n"
    "  The database URL comes from FILE ([database] url), or TRONRELAY_CONFIG, or\n"
    "  TRONRELAY_DATABASE_URL.\n";

int invalid(std::ostream& err, const std::string& message) {
  err << "tronrelayctl: " << message << "\n";
  return kExitInvalid;
}

std::string trim(std::string s) {
  size_t begin = 0;
  while (begin < s.size() && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  size_t end = s.size();
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  return s.substr(begin, end - begin);
}

// Largest input accepted on stdin: a maximal transaction as hex, with room for JSON.
constexpr size_t kMaxInput = 4 * chain::Transaction::kMaxSize;

// A transaction from an argument or stdin ("-"): hex of a signed tx or raw_data, or java-tron JSON.
common::Result<chain::Transaction> read_transaction(std::string input, std::istream& in) {
  if (input == "-") {
    input.clear();
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      input.append(buffer, static_cast<size_t>(in.gcount()));
      if (input.size() > kMaxInput) {
        return common::make_error("invalid_request", "input is larger than any transaction");
      }
    }
  }
  input = trim(std::move(input));
  if (input.empty()) return common::make_error("invalid_request", "no transaction given");
  if (input.front() == '{') {
    RELAY_ASSIGN_OR_RETURN(auto json, common::parse_json_object(input));
    return chain::transaction_from_json(json);
  }
  auto bytes = common::from_hex(input);
  if (!bytes.ok()) {
    return common::make_error("invalid_request",
                              "input is neither hex nor JSON: " + bytes.error().message);
  }
  return chain::Transaction::decode(*bytes);
}

int tx_inspect(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
               std::ostream& err) {
  if (args.size() != 3) return invalid(err, "usage: tronrelayctl tx inspect HEX|-");
  auto tx = read_transaction(args[2], in);
  if (!tx.ok()) return invalid(err, tx.error().message);
  out << common::json_to_string(chain::inspect_transaction(*tx)) << "\n";
  return kExitOk;
}

// The account holder's side of onboarding (and of tests): adds the signature of the key in FILE to
// a transaction of that key's own account. Anything owned by another account is refused, so the
// tool cannot be talked into signing for someone else.
int tx_sign(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
            std::ostream& err) {
  if (args.size() != 5 || args[2] != "--key-file") {
    return invalid(err, "usage: tronrelayctl tx sign --key-file FILE HEX|-");
  }
  auto key = signer::load_key_file(args[3]);
  if (!key.ok()) return invalid(err, key.error().message);
  auto tx = read_transaction(args[4], in);
  if (!tx.ok()) return invalid(err, tx.error().message);
  auto address = signer::address_of(*key);
  if (!address.ok()) return invalid(err, address.error().message);
  signer::SigningPolicy policy;
  policy.allowed_contract_types = {static_cast<int>(tx->contract_type())};
  policy.allowed_owners = {*address};
  policy.max_fee_limit_sun = tx->raw().fee_limit();
  auto local = signer::LocalSigner::create(std::move(*key), std::move(policy));
  if (!local.ok()) return invalid(err, local.error().message);
  auto signature = (*local)->sign_transaction(tx->raw_bytes());
  if (!signature.ok()) {
    return invalid(err, "will not sign: the transaction belongs to " + tx->owner().to_base58() +
                            ", the key to " + address->to_base58());
  }
  tx->add_signature(std::move(*signature));
  boost::json::object result{{"txid", tx->txid_hex()},
                             {"signatures", tx->signatures().size()},
                             {"signed_hex", common::to_hex(tx->encode_signed())}};
  out << common::json_to_string(result) << "\n";
  return kExitOk;
}

int key_address(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() != 4 || args[2] != "--key-file") {
    return invalid(err, "usage: tronrelayctl key address --key-file FILE");
  }
  auto key = signer::load_key_file(args[3]);
  if (!key.ok()) return invalid(err, key.error().message);
  auto address = signer::address_of(*key);
  if (!address.ok()) return invalid(err, address.error().message);
  boost::json::object result{{"hex", address->to_hex()}, {"base58", address->to_base58()}};
  out << common::json_to_string(result) << "\n";
  return kExitOk;
}

int address(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() != 2) return invalid(err, "usage: tronrelayctl address HEX_OR_BASE58");
  auto parsed = common::Address::parse(trim(args[1]));
  if (!parsed.ok()) return invalid(err, parsed.error().message);
  boost::json::object result{{"hex", parsed->to_hex()}, {"base58", parsed->to_base58()}};
  out << common::json_to_string(result) << "\n";
  return kExitOk;
}

}  // namespace

int run_ctl(const std::vector<std::string>& all_args, std::istream& in, std::ostream& out,
            std::ostream& err) {
  std::vector<std::string> args = all_args;
  std::string config_path;
  if (const char* env = std::getenv("TRONRELAY_CONFIG")) config_path = env;
  if (args.size() >= 2 && args[0] == "--config") {
    config_path = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  // Hostile input must give one clean error line, not protobuf's own log chatter on stderr.
  google::protobuf::SetLogHandler(nullptr);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? kExitInvalid : kExitOk;
  }
  if (args[0] == "tx" && args.size() >= 2 && args[1] == "inspect")
    return tx_inspect(args, in, out, err);
  if (args[0] == "tx" && args.size() >= 2 && args[1] == "sign") return tx_sign(args, in, out, err);
  if (args[0] == "key" && args.size() >= 2 && args[1] == "address")
    return key_address(args, out, err);
  if (args[0] == "address") return address(args, out, err);
  if (is_store_command(args)) return run_store_command(args, config_path, out, err);
  if (is_reclaim_command(args)) return run_reclaim_command(args, config_path, out, err);
  if (is_reconcile_command(args)) return run_reconcile_command(args, config_path, out, err);
  return invalid(err, "unknown command '" + args[0] + "' (try --help)");
}

}  // namespace relay::daemon
