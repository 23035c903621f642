#!/usr/bin/env node
// Signs a transaction the way a customer's wallet does: TronWeb 6.5.1's trx.sign, offline. trx.sign
// first checks that the private key owns the transaction and that raw_data re-encodes to
// raw_data_hex and txID (txCheck), so a transaction our API renders inconsistently is refused here
// rather than signed.
//
// Usage: node sign_with_tronweb.js --modules ORACLE_DIR < INPUT.json
//   INPUT: {"private_key": "<64 hex>", "transaction": {"txID", "raw_data", "raw_data_hex", ...}}
// Prints the signed transaction as JSON ({..., "signature": ["<130 hex>"]}) on one line. Exits 1
// with the reason on stderr when TronWeb refuses, 2 on usage errors.
'use strict';

const path = require('path');

const i = process.argv.indexOf('--modules');
if (i < 0 || i + 1 >= process.argv.length) {
  console.error('usage: node sign_with_tronweb.js --modules ORACLE_DIR < INPUT.json');
  process.exit(2);
}
const modules = path.resolve(process.argv[i + 1], 'node_modules', 'tronweb');
let tronweb;
try {
  tronweb = require(modules);
} catch (e) {
  console.error(`sign_with_tronweb: cannot load ${modules}: ${e.message} (run tests/oracle/install.sh)`);
  process.exit(2);
}
// Offline by construction: any HTTP request TronWeb tries is an error.
tronweb.providers.HttpProvider.prototype.request = function (url) {
  return Promise.reject(new Error(`sign_with_tronweb: TronWeb attempted a request to ${url}`));
};
const tronWeb = new tronweb.TronWeb({ fullHost: 'http://127.0.0.1:1' });

let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { text += chunk; });
process.stdin.on('end', async () => {
  let input;
  try {
    input = JSON.parse(text);
  } catch (e) {
    console.error(`sign_with_tronweb: input is not JSON: ${e.message}`);
    process.exit(2);
  }
  try {
    const signed = await tronWeb.trx.sign(input.transaction, input.private_key);
    process.stdout.write(JSON.stringify(signed) + '\n');
  } catch (e) {
    console.error(`sign_with_tronweb: TronWeb refused: ${e && e.message ? e.message : e}`);
    process.exit(1);
  }
});
