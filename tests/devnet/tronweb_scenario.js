#!/usr/bin/env node
// Real-client end-to-end scenario: TronWeb 6.5.1 drives tron-devnet the way a wallet would
// (build with transactionBuilder, sign with trx.sign / trx.multiSign, broadcast with
// trx.sendRawTransaction, read with trx.* getters).
// Usage: node tronweb_scenario.js --modules ORACLE_DIR --url http://127.0.0.1:PORT [--trace]
//   --trace  log every request TronWeb makes and the node's answer to stderr
// Prints one PASS/FAIL line per step, then "N passed, M failed"; exits 1 on any failure.
'use strict';

const path = require('path');

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) {
    console.error(`usage: node tronweb_scenario.js --modules ORACLE_DIR --url http://127.0.0.1:PORT (missing ${name})`);
    process.exit(2);
  }
  return process.argv[i + 1];
}

const MODULES = arg('--modules');
const URL = arg('--url').replace(/\/+$/, '');
const { TronWeb, utils } = require(path.join(path.resolve(MODULES), 'node_modules', 'tronweb'));

const tronWeb = new TronWeb({ fullHost: URL });

if (process.argv.includes('--trace')) {
  for (const provider of new Set([tronWeb.fullNode, tronWeb.solidityNode])) {
    const request = provider.request.bind(provider);
    provider.request = async (url, payload, method) => {
      try {
        const answer = await request(url, payload, method);
        console.error(`trace ${method || 'get'} ${url} ${JSON.stringify(payload)} -> ${JSON.stringify(answer)}`);
        return answer;
      } catch (e) {
        console.error(`trace ${method || 'get'} ${url} ${JSON.stringify(payload)} -> THROWS ${e.message}`);
        throw e;
      }
    };
  }
}

const K1 = '0000000000000000000000000000000000000000000000000000000000000001';
const K1_ADDR = 'TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC';
const USDT = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
const TRX = 1_000_000;
const WAIT_MS = 30_000;  // generous: ctest runs this beside CPU-bound fuzzers on two cores

// ---------------------------------------------------------------------------------------------
// helpers

class StepError extends Error {}

function assert(cond, message) {
  if (!cond) throw new StepError(message);
}

function show(value) {
  const text = JSON.stringify(value);
  return text && text.length > 600 ? text.slice(0, 600) + '…' : text;
}

function newAccount() {
  const a = utils.accounts.generateAccount();
  return { key: a.privateKey, base58: a.address.base58, hex: a.address.hex.toLowerCase() };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn() every 100 ms until it returns a truthy value; fails with `what` after `timeoutMs`.
async function waitFor(what, fn, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new StepError(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : show(last)})`);
    }
    await sleep(100);
  }
}

async function admin(route, body) {
  const res = await fetch(`${URL}/admin/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert(res.ok && !json.Error, `/admin/${route} ${show(body)} failed: HTTP ${res.status} ${show(json)}`);
  return json;
}

async function broadcastOk(signed, what) {
  const r = await tronWeb.trx.sendRawTransaction(signed);
  const msg = r.message ? tronWeb.toUtf8(r.message) : '';
  assert(r.result === true, `${what}: broadcast refused: code=${r.code} message=${JSON.stringify(msg)}`);
  assert(r.txid === signed.txID, `${what}: broadcast txid ${r.txid} != signed txID ${signed.txID}`);
  return r.txid;
}

// Confirmed (solidity) transaction info, polled until the tx is included and solidified.
async function waitInfo(txid, what) {
  return waitFor(`${what} ${txid} in walletsolidity/gettransactioninfobyid`, async () => {
    const info = await tronWeb.trx.getTransactionInfo(txid);
    return info && info.id ? info : null;
  });
}

// Full transaction JSON must show the same contractRet as the receipt.
async function contractRet(txid) {
  const tx = await tronWeb.trx.getTransaction(txid);
  return tx.ret && tx.ret[0] && tx.ret[0].contractRet;
}

async function signAndSend(tx, key, what) {
  const signed = await tronWeb.trx.sign(tx, key);
  const txid = await broadcastOk(signed, what);
  const info = await waitInfo(txid, what);
  assert(!info.result || info.result !== 'FAILED',
    `${what}: included but FAILED: ${show(info)} (${info.resMessage ? tronWeb.toUtf8(info.resMessage) : ''})`);
  return info;
}

async function usdtBalance(owner) {
  const r = await tronWeb.transactionBuilder.triggerConstantContract(
    USDT, 'balanceOf(address)', {}, [{ type: 'address', value: owner }], owner);
  assert(r && r.result && r.result.result === true, `balanceOf(${owner}) constant call failed: ${show(r)}`);
  assert(Array.isArray(r.constant_result) && r.constant_result.length === 1,
    `balanceOf(${owner}): constant_result missing: ${show(r)}`);
  return BigInt('0x' + (r.constant_result[0] || '0'));
}

function usdtTransferArgs(to, amount) {
  return [{ type: 'address', value: to }, { type: 'uint256', value: amount }];
}

function opsHex(types) {
  const bytes = Buffer.alloc(32);
  for (const t of types) bytes[t >> 3] |= 1 << (t & 7);
  return bytes.toString('hex');
}

// Flips a byte inside r of the first signature.
function tamper(signed) {
  const copy = JSON.parse(JSON.stringify(signed));
  const sig = copy.signature[0];
  const flipped = (parseInt(sig.slice(10, 12), 16) ^ 0xff).toString(16).padStart(2, '0');
  copy.signature[0] = sig.slice(0, 10) + flipped + sig.slice(12);
  return copy;
}

// ---------------------------------------------------------------------------------------------
// scenario

const ctx = {};
const steps = [];
function step(name, fn) {
  steps.push({ name, fn });
}

step('1 getAccount shows the genesis balance of K1', async () => {
  assert(TronWeb.address.fromPrivateKey(K1) === K1_ADDR, `K1 derives ${TronWeb.address.fromPrivateKey(K1)}`);
  const acct = await waitFor('K1 in walletsolidity/getaccount', async () => {
    const a = await tronWeb.trx.getAccount(K1_ADDR);
    return a && a.address ? a : null;
  });
  assert(acct.address.toLowerCase() === tronWeb.address.toHex(K1_ADDR).toLowerCase(),
    `getAccount address ${acct.address} != ${tronWeb.address.toHex(K1_ADDR)}`);
  assert(typeof acct.balance === 'number' && acct.balance > 1000 * TRX,
    `K1 balance should be > 1000 TRX, got ${show(acct.balance)}`);
  const balance = await tronWeb.trx.getBalance(K1_ADDR);
  assert(balance === acct.balance, `getBalance ${balance} != getAccount.balance ${acct.balance}`);
  const bandwidth = await tronWeb.trx.getBandwidth(K1_ADDR);
  assert(bandwidth > 0, `getBandwidth (wallet/getaccountnet) ${bandwidth}, expected the free allowance`);
  ctx.k1Balance = acct.balance;
});

step('2 sendTrx activates a brand-new address (fee includes the account-creation fee)', async () => {
  const fresh = newAccount();
  ctx.fresh = fresh;
  const before = await tronWeb.trx.getAccount(fresh.base58);
  assert(Object.keys(before).length === 0, `new address already exists: ${show(before)}`);
  const tx = await tronWeb.transactionBuilder.sendTrx(fresh.base58, 5 * TRX, K1_ADDR);
  const signed = await tronWeb.trx.sign(tx, K1);
  const r = await tronWeb.trx.sendRawTransaction(signed);
  assert(r.result === true, `sendRawTransaction result ${show(r.result)}: ${r.code} ${r.message ? tronWeb.toUtf8(r.message) : ''}`);
  const info = await waitInfo(r.txid, 'activation transfer');
  assert(typeof info.fee === 'number' && info.fee >= 1 * TRX,
    `activation fee should include the 1 TRX account-creation fee, got fee=${show(info.fee)} (${show(info)})`);
  const ret = await contractRet(r.txid);
  assert(ret === 'SUCCESS', `gettransactionbyid contractRet ${ret}, expected SUCCESS`);
  const acct = await waitFor('new account in walletsolidity/getaccount', async () => {
    const a = await tronWeb.trx.getAccount(fresh.base58);
    return a && a.address ? a : null;
  });
  assert(acct.balance === 5 * TRX, `new account balance ${acct.balance}, expected ${5 * TRX}`);
  const k1 = await tronWeb.trx.getAccount(K1_ADDR);
  assert(k1.balance === ctx.k1Balance - 5 * TRX - info.fee,
    `K1 balance ${k1.balance} != ${ctx.k1Balance} - 5 TRX - fee ${info.fee}`);
});

step('3 freezeBalanceV2 ENERGY grows EnergyLimit', async () => {
  const before = await tronWeb.trx.getAccountResources(K1_ADDR);
  const limitBefore = before.EnergyLimit || 0;
  const tx = await tronWeb.transactionBuilder.freezeBalanceV2(10_000 * TRX, 'ENERGY', K1_ADDR);
  assert(tx.raw_data.contract[0].type === 'FreezeBalanceV2Contract', `unexpected type ${tx.raw_data.contract[0].type}`);
  await signAndSend(tx, K1, 'freezeBalanceV2');
  const after = await waitFor('EnergyLimit to grow', async () => {
    const r = await tronWeb.trx.getAccountResources(K1_ADDR);
    return (r.EnergyLimit || 0) > limitBefore ? r : null;
  });
  assert(after.TotalEnergyWeight > 0, `TotalEnergyWeight missing: ${show(after)}`);
  const acct = await tronWeb.trx.getAccount(K1_ADDR);
  const frozen = (acct.frozenV2 || []).find((f) => f.type === 'ENERGY');
  assert(frozen && frozen.amount === 10_000 * TRX, `getAccount frozenV2 ENERGY ${show(acct.frozenV2)}`);
  ctx.k1EnergyLimit = after.EnergyLimit;
});

step('4 delegateResource ENERGY K1 -> new account', async () => {
  assert(ctx.fresh, 'needs step 2');
  const amount = 1_000 * TRX;
  const tx = await tronWeb.transactionBuilder.delegateResource(amount, ctx.fresh.base58, 'ENERGY', K1_ADDR);
  await signAndSend(tx, K1, 'delegateResource');
  const res = await waitFor('receiver EnergyLimit > 0', async () => {
    const r = await tronWeb.trx.getAccountResources(ctx.fresh.base58);
    return (r.EnergyLimit || 0) > 0 ? r : null;
  });
  assert(res.EnergyLimit > 0, `receiver EnergyLimit ${res.EnergyLimit}`);
  const d = await waitFor('walletsolidity/getdelegatedresourcev2 entry', async () => {
    const r = await tronWeb.trx.getDelegatedResourceV2(K1_ADDR, ctx.fresh.base58);
    return r && Array.isArray(r.delegatedResource) && r.delegatedResource.length ? r : null;
  });
  const entry = d.delegatedResource[0];
  assert(entry.frozen_balance_for_energy === amount,
    `delegatedResource frozen_balance_for_energy ${entry.frozen_balance_for_energy}, expected ${amount}: ${show(d)}`);
  assert(entry.from.toLowerCase() === tronWeb.address.toHex(K1_ADDR).toLowerCase() &&
    entry.to.toLowerCase() === ctx.fresh.hex, `delegatedResource from/to wrong: ${show(entry)}`);
  const idx = await tronWeb.trx.getDelegatedResourceAccountIndexV2(K1_ADDR);
  assert(Array.isArray(idx.toAccounts) && idx.toAccounts.map((a) => a.toLowerCase()).includes(ctx.fresh.hex),
    `getdelegatedresourceaccountindexv2 toAccounts lacks receiver: ${show(idx)}`);
  const k1 = await tronWeb.trx.getAccountResources(K1_ADDR);
  assert((k1.EnergyLimit || 0) < ctx.k1EnergyLimit, `K1 EnergyLimit did not drop: ${k1.EnergyLimit} vs ${ctx.k1EnergyLimit}`);
});

step('5 USDT transfer via triggerSmartContract', async () => {
  const to = newAccount();  // never held USDT: new-holder energy
  const amount = 12_345_678n;
  const fromBefore = await usdtBalance(K1_ADDR);
  const toBefore = await usdtBalance(to.base58);
  assert(toBefore === 0n, `fresh recipient already holds ${toBefore}`);
  const estimate = await tronWeb.transactionBuilder.triggerConstantContract(
    USDT, 'transfer(address,uint256)', {}, usdtTransferArgs(to.base58, amount.toString()), K1_ADDR);
  assert(estimate.energy_used > 0, `triggerconstantcontract energy_used missing: ${show(estimate)}`);
  const built = await tronWeb.transactionBuilder.triggerSmartContract(
    USDT, 'transfer(address,uint256)', { feeLimit: 100 * TRX },
    usdtTransferArgs(to.base58, amount.toString()), K1_ADDR);
  assert(built.result && built.result.result === true, `triggerSmartContract result ${show(built.result)}`);
  assert(built.transaction.raw_data.fee_limit === 100 * TRX, `fee_limit ${built.transaction.raw_data.fee_limit}`);
  const info = await signAndSend(built.transaction, K1, 'USDT transfer');
  assert(info.receipt && info.receipt.result === 'SUCCESS', `receipt.result ${info.receipt && info.receipt.result}, expected SUCCESS: ${show(info)}`);
  const energy = info.receipt.energy_usage_total;
  assert(energy === 130_285, `energy_usage_total ${energy}, expected 130285 for a new holder`);
  assert(estimate.energy_used === energy, `triggerconstantcontract energy_used ${estimate.energy_used} != executed ${energy}`);
  assert(Array.isArray(info.log) && info.log.length === 1, `expected one Transfer log: ${show(info.log)}`);
  const ret = await contractRet(info.id);
  assert(ret === 'SUCCESS', `gettransactionbyid contractRet ${ret}`);
  const fromAfter = await usdtBalance(K1_ADDR);
  const toAfter = await usdtBalance(to.base58);
  assert(toAfter === amount, `recipient balanceOf ${toAfter}, expected ${amount}`);
  assert(fromBefore - fromAfter === amount, `sender balanceOf moved by ${fromBefore - fromAfter}, expected ${amount}`);
  // The same reads through TronWeb's contract API (wallet/getcontract ABI + constant calls).
  const usdt = await tronWeb.contract().at(USDT);
  const decimals = await usdt.decimals().call({ from: K1_ADDR });
  assert(BigInt(decimals) === 6n, `USDT decimals() ${decimals}`);
  const viaAbi = await usdt.balanceOf(to.base58).call({ from: K1_ADDR });
  assert(BigInt(viaAbi) === amount, `contract().at(USDT).balanceOf() ${viaAbi}, expected ${amount}`);

  // A node-side refusal reaches the wallet as text (Return.message is hex on the wire).
  let refusal = '';
  await tronWeb.transactionBuilder.triggerSmartContract(USDT, 'transfer(address,uint256)', { feeLimit: 100 * TRX },
    usdtTransferArgs(K1_ADDR, '1'), newAccount().base58).catch((e) => { refusal = String(e.message || e); });
  assert(refusal && !/hex/i.test(refusal) && /[a-z]{3}/i.test(refusal),
    `triggerSmartContract from an unactivated owner should throw the node's readable reason, got ${JSON.stringify(refusal)}`);

  // Second transfer to the now-existing holder costs the holder price.
  const again = await tronWeb.transactionBuilder.triggerSmartContract(
    USDT, 'transfer(address,uint256)', { feeLimit: 100 * TRX }, usdtTransferArgs(to.base58, '1'), K1_ADDR);
  const info2 = await signAndSend(again.transaction, K1, 'USDT transfer to holder');
  assert(info2.receipt.result === 'SUCCESS' && info2.receipt.energy_usage_total === 64_285,
    `transfer to holder: receipt ${show(info2.receipt)}, expected SUCCESS with 64285 energy`);
});

step('6 updateAccountPermissions: active permission for 57+58 only, signed by K_R', async () => {
  const owner = newAccount();
  const relayer = newAccount();
  const receiver = ctx.fresh;
  assert(receiver, 'needs step 2');
  await admin('fund', { address: owner.base58, amount_sun: 500 * TRX });
  await waitFor('funded account in getaccount', async () => {
    const a = await tronWeb.trx.getAccount(owner.base58);
    return a && a.balance === 500 * TRX;
  });
  // Stake first (owner-signed) so there is something to delegate.
  await signAndSend(await tronWeb.transactionBuilder.freezeBalanceV2(100 * TRX, 'ENERGY', owner.base58), owner.key,
    'owner freezeBalanceV2');

  const ops = opsHex([57, 58]);
  assert(ops === '0000000000000006000000000000000000000000000000000000000000000000', `ops bitmap ${ops}`);
  const ownerPermission = { type: 0, permission_name: 'owner', threshold: 1, keys: [{ address: owner.base58, weight: 1 }] };
  const activePermission = {
    type: 2, permission_name: 'relayer', threshold: 1, operations: ops,
    keys: [{ address: relayer.base58, weight: 1 }],
  };
  const balanceBefore = (await tronWeb.trx.getAccount(owner.base58)).balance;
  const upd = await tronWeb.transactionBuilder.updateAccountPermissions(owner.base58, ownerPermission, null, [activePermission]);
  const updInfo = await signAndSend(upd, owner.key, 'accountPermissionUpdate');
  assert(updInfo.fee >= 100 * TRX, `permission update fee ${updInfo.fee}, expected >= 100 TRX`);

  const acct = await waitFor('active_permission with relayer key', async () => {
    const a = await tronWeb.trx.getAccount(owner.base58);
    const actives = a.active_permission || [];
    return actives.some((p) => (p.keys || []).some((k) => k.address.toLowerCase() === relayer.hex)) ? a : null;
  });
  assert(acct.balance === balanceBefore - updInfo.fee, `balance ${acct.balance} != ${balanceBefore} - fee ${updInfo.fee}`);
  assert(acct.active_permission.length === 1, `expected exactly one active permission: ${show(acct.active_permission)}`);
  const perm = acct.active_permission[0];
  assert(perm.type === 'Active' && perm.permission_name === 'relayer' && perm.operations === ops && perm.threshold === 1,
    `stored active permission differs: ${show(perm)}`);
  assert(perm.id === 2, `active permission id ${perm.id}, expected 2`);
  assert(acct.owner_permission && acct.owner_permission.keys[0].address.toLowerCase() === owner.hex,
    `owner permission lost: ${show(acct.owner_permission)}`);
  const permissionId = perm.id;

  // Allowed by ops: DelegateResource signed only by K_R under the active permission.
  const del = await tronWeb.transactionBuilder.delegateResource(
    50 * TRX, receiver.base58, 'ENERGY', owner.base58, false, undefined, { permissionId });
  assert(del.raw_data.contract[0].Permission_id === permissionId,
    `built tx Permission_id ${del.raw_data.contract[0].Permission_id}`);
  const delSigned = await tronWeb.trx.multiSign(del, relayer.key, permissionId);
  const delTxid = await broadcastOk(delSigned, 'delegateResource signed by K_R');
  const delInfo = await waitInfo(delTxid, 'delegateResource signed by K_R');
  assert(delInfo.result !== 'FAILED', `relayer delegate failed: ${show(delInfo)}`);
  const d = await waitFor('relayer delegation in getdelegatedresourcev2', async () => {
    const r = await tronWeb.trx.getDelegatedResourceV2(owner.base58, receiver.base58);
    return r && r.delegatedResource && r.delegatedResource.length ? r : null;
  });
  assert(d.delegatedResource[0].frozen_balance_for_energy === 50 * TRX, `delegated ${show(d)}`);

  // The classic TronWeb multi-sign flow: build as owner, then multiSign(tx, K_R, id) asks the node
  // (wallet/getsignweight) for the permission and re-derives the tx with Permission_id.
  const plain = await tronWeb.transactionBuilder.delegateResource(20 * TRX, receiver.base58, 'ENERGY', owner.base58);
  const plainSigned = await tronWeb.trx.multiSign(plain, relayer.key, permissionId);
  assert(plainSigned.raw_data.contract[0].Permission_id === permissionId && plainSigned.txID !== plain.txID,
    `multiSign via getsignweight did not re-derive the tx: ${show(plainSigned.raw_data.contract[0])}`);
  const weight = await tronWeb.trx.getSignWeight(JSON.parse(JSON.stringify(plainSigned)));
  assert(weight.result && !weight.result.code && weight.current_weight === 1 &&
    (weight.approved_list || []).map((a) => a.toLowerCase()).join() === relayer.hex,
    `getsignweight after K_R signed should be ENOUGH_PERMISSION (code omitted), weight 1, approved [K_R]: ${show({ ...weight, transaction: undefined })}`);
  await waitInfo(await broadcastOk(plainSigned, 'delegateResource multiSigned via getsignweight'), 'delegateResource via getsignweight');
  await waitFor('delegation of 70 TRX', async () => {
    const r = await tronWeb.trx.getDelegatedResourceV2(owner.base58, receiver.base58);
    return r.delegatedResource && r.delegatedResource[0].frozen_balance_for_energy === 70 * TRX;
  });

  // trx.sign(tx, K_R, false, true) is the other 6.5.1 way; UnDelegate (58) is allowed too.
  const und = await tronWeb.transactionBuilder.undelegateResource(
    10 * TRX, receiver.base58, 'ENERGY', owner.base58, { permissionId });
  const undSigned = await tronWeb.trx.sign(und, relayer.key, false, true);
  const undTxid = await broadcastOk(undSigned, 'undelegateResource signed by K_R via trx.sign(multisig)');
  await waitInfo(undTxid, 'undelegateResource signed by K_R');

  // Not allowed by ops: TransferContract under the same permission, signed by K_R.
  const xfer = await tronWeb.transactionBuilder.sendTrx(K1_ADDR, 1 * TRX, owner.base58, { permissionId });
  assert(xfer.raw_data.contract[0].Permission_id === permissionId, 'transfer built without Permission_id');
  const xferSigned = await tronWeb.trx.multiSign(xfer, relayer.key, permissionId);
  const r = await tronWeb.trx.sendRawTransaction(xferSigned);
  assert(r.result !== true && r.code === 'SIGERROR',
    `TransferContract under the 57+58 permission: expected code SIGERROR, got ${show({ result: r.result, code: r.code, message: r.message && tronWeb.toUtf8(r.message) })}`);

  // The node's sign-weight check refuses the same operation before anything is signed.
  const xferPlain = await tronWeb.transactionBuilder.sendTrx(K1_ADDR, 1 * TRX, owner.base58);
  let refusal = '';
  await tronWeb.trx.multiSign(xferPlain, relayer.key, permissionId).catch((e) => { refusal = e.message; });
  assert(/Permission denied/.test(refusal), `multiSign of a TransferContract under the 57+58 permission should throw "Permission denied!", got ${JSON.stringify(refusal)}`);

  // Owner key may not sign under the active permission either.
  const del2 = await tronWeb.transactionBuilder.delegateResource(
    5 * TRX, receiver.base58, 'ENERGY', owner.base58, false, undefined, { permissionId });
  const r2 = await tronWeb.trx.sendRawTransaction(await tronWeb.trx.multiSign(del2, owner.key, permissionId));
  assert(r2.code === 'SIGERROR', `owner key under active permission: expected SIGERROR, got ${r2.code}`);
});

step('7 tampered signature (flipped byte in r) is refused with SIGERROR', async () => {
  const tx = await tronWeb.transactionBuilder.sendTrx(ctx.fresh ? ctx.fresh.base58 : newAccount().base58, 1, K1_ADDR);
  const signed = await tronWeb.trx.sign(tx, K1);
  const bad = tamper(signed);
  assert(bad.signature[0] !== signed.signature[0], 'tamper did not change the signature');
  const r = await tronWeb.trx.sendRawTransaction(bad);
  const msg = r.message ? tronWeb.toUtf8(r.message) : '';
  assert(r.result !== true, `tampered tx accepted: ${show(r)}`);
  assert(r.code === 'SIGERROR', `expected code SIGERROR, got ${r.code} (${msg})`);
  assert(/Validate signature error/.test(msg), `SIGERROR message should start "Validate signature error": ${JSON.stringify(msg)}`);
  // The untampered original still goes through.
  await broadcastOk(signed, 'untampered original');
});

step('8 USDT transfer with feeLimit 1 TRX and no energy ends OUT_OF_ENERGY with a fee', async () => {
  const payer = newAccount();
  await admin('fund', { address: payer.base58, amount_sun: 50 * TRX });
  await admin('usdt/mint', { address: payer.base58, amount: 5_000_000 });
  const res = await tronWeb.trx.getAccountResources(payer.base58);
  assert(!res.EnergyLimit, `payer should have no energy: ${show(res)}`);
  const usdtBefore = await usdtBalance(payer.base58);
  assert(usdtBefore === 5_000_000n, `minted USDT balance ${usdtBefore}`);
  const balanceBefore = (await tronWeb.trx.getUnconfirmedAccount(payer.base58)).balance;
  const built = await tronWeb.transactionBuilder.triggerSmartContract(
    USDT, 'transfer(address,uint256)', { feeLimit: 1 * TRX }, usdtTransferArgs(K1_ADDR, '1000000'), payer.base58);
  const signed = await tronWeb.trx.sign(built.transaction, payer.key);
  const txid = await broadcastOk(signed, 'low-feeLimit USDT transfer');
  const info = await waitInfo(txid, 'low-feeLimit USDT transfer');
  assert(info.receipt && info.receipt.result === 'OUT_OF_ENERGY',
    `receipt.result ${info.receipt && info.receipt.result}, expected OUT_OF_ENERGY: ${show(info)}`);
  assert(info.result === 'FAILED', `info.result ${info.result}, expected FAILED`);
  assert(typeof info.fee === 'number' && info.fee >= 1 * TRX, `fee ${info.fee}, expected >= feeLimit 1 TRX burned`);
  assert(info.receipt.energy_fee === 1 * TRX, `energy_fee ${info.receipt.energy_fee}, expected the whole feeLimit`);
  const ret = await contractRet(txid);
  assert(ret === 'OUT_OF_ENERGY', `gettransactionbyid contractRet ${ret}`);
  const after = await tronWeb.trx.getAccount(payer.base58);
  assert(after.balance === balanceBefore - info.fee, `payer balance ${after.balance} != ${balanceBefore} - fee ${info.fee}`);
  const usdtAfter = await usdtBalance(payer.base58);
  assert(usdtAfter === usdtBefore, `USDT moved despite OUT_OF_ENERGY: ${usdtBefore} -> ${usdtAfter}`);
});

(async () => {
  let passed = 0;
  let failed = 0;
  for (const { name, fn } of steps) {
    try {
      await fn();
      passed++;
      console.log(`PASS ${name}`);
    } catch (e) {
      failed++;
      const detail = e instanceof StepError ? e.message : (e && e.stack) || String(e);
      console.log(`FAIL ${name}: ${detail}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
