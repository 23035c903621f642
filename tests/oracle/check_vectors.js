#!/usr/bin/env node
// Self-check of tronweb_oracle.js.
// Usage: node check_vectors.js --modules DIR [--vectors /work/shared/tron/vectors.json]
//
// 1. Converts vectors.json "generated" V1..V6 into oracle requests and asserts raw_data_hex, txid
//    and signature_hex match exactly.
// 2. Runs edge cases and asserts the oracle's raw_data_hex against a tiny canonical proto3 encoder
//    written here (tronweb quirks are pinned explicitly), and checks each signature with Node's
//    OpenSSL (valid ECDSA over txid, low-s, v in {27,28}; the v/recid value itself is
//    pinned only by the exact V1..V6 comparisons).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

let modules = null;
let vectorsPath = '/work/shared/tron/vectors.json';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--modules') modules = argv[++i];
    else if (argv[i] === '--vectors') vectorsPath = argv[++i];
    else { console.error(`unexpected argument ${argv[i]}`); process.exit(2); }
}
if (!modules) { console.error('usage: node check_vectors.js --modules DIR [--vectors FILE]'); process.exit(2); }

const ORACLE = path.join(__dirname, 'tronweb_oracle.js');
let failures = 0;
function fail(msg) { failures++; console.log(`FAIL ${msg}`); }
function pass(msg) { console.log(`ok   ${msg}`); }

function runOracle(reqs) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tronweb-oracle-'));
    const file = path.join(tmp, 'in.jsonl');
    fs.writeFileSync(file, reqs.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const t0 = process.hrtime.bigint();
    const out = execFileSync(process.execPath, [ORACLE, '--modules', modules, file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    fs.rmSync(tmp, { recursive: true, force: true });
    const lines = out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    if (lines.length !== reqs.length) throw new Error(`oracle returned ${lines.length} lines for ${reqs.length} requests`);
    lines.forEach((l, i) => { if (l.id !== reqs[i].id) throw new Error(`line ${i}: id ${l.id} != ${reqs[i].id}`); });
    return { lines, ms };
}

// ---------- minimal canonical proto3 encoder (independent of tronweb) ----------
function varint(n) {
    let v = BigInt(n);
    if (v < 0n) v += 1n << 64n;
    const b = [];
    do { let x = Number(v & 0x7fn); v >>= 7n; if (v) x |= 0x80; b.push(x); } while (v);
    return Buffer.from(b);
}
const tag = (f, wt) => varint((f << 3) | wt);
// proto3: zero / false / empty are omitted
const fInt = (f, v) => (BigInt(v) === 0n ? Buffer.alloc(0) : Buffer.concat([tag(f, 0), varint(v)]));
const fBool = (f, v) => (v ? Buffer.concat([tag(f, 0), varint(1)]) : Buffer.alloc(0));
const fBytes = (f, buf) => (buf.length === 0 ? Buffer.alloc(0) : Buffer.concat([tag(f, 2), varint(buf.length), buf]));
const fMsg = (f, buf) => Buffer.concat([tag(f, 2), varint(buf.length), buf]); // embedded message: always present
const hx = (s) => Buffer.from(s, 'hex');
const RES = { BANDWIDTH: 0, ENERGY: 1 };
const TYPE = {
    TransferContract: 1, TriggerSmartContract: 31, AccountPermissionUpdateContract: 46,
    FreezeBalanceV2Contract: 54, UnfreezeBalanceV2Contract: 55, DelegateResourceContract: 57, UnDelegateResourceContract: 58,
};

function encKey(k) { return Buffer.concat([fBytes(1, hx(k.address)), fInt(2, k.weight)]); }
function encPerm(p, type) {
    return Buffer.concat([
        fInt(1, type), /* id (2) never set */ fBytes(3, Buffer.from(p.permission_name, 'utf8')), fInt(4, p.threshold),
        fBytes(6, p.operations ? hx(p.operations) : Buffer.alloc(0)), ...p.keys.map((k) => fMsg(7, encKey(k))),
    ]);
}
function encContract(r) {
    switch (r.type) {
        case 'TransferContract':
            return Buffer.concat([fBytes(1, hx(r.owner)), fBytes(2, hx(r.to)), fInt(3, r.amount)]);
        case 'TriggerSmartContract': {
            const data = Buffer.concat([hx('a9059cbb'), Buffer.alloc(12), hx(r.to.slice(2)), hx(BigInt(r.amount).toString(16).padStart(64, '0'))]);
            return Buffer.concat([fBytes(1, hx(r.owner)), fBytes(2, hx(r.contract)), fInt(3, 0), fBytes(4, data)]);
        }
        case 'FreezeBalanceV2Contract':
            return Buffer.concat([fBytes(1, hx(r.owner)), fInt(2, r.frozen_balance), fInt(3, RES[r.resource])]);
        case 'UnfreezeBalanceV2Contract':
            return Buffer.concat([fBytes(1, hx(r.owner)), fInt(2, r.unfreeze_balance), fInt(3, RES[r.resource])]);
        case 'DelegateResourceContract':
            return Buffer.concat([fBytes(1, hx(r.owner)), fInt(2, RES[r.resource]), fInt(3, r.balance), fBytes(4, hx(r.receiver)),
                fBool(5, r.lock), fInt(6, r.lock_period)]);
        case 'UnDelegateResourceContract':
            return Buffer.concat([fBytes(1, hx(r.owner)), fInt(2, RES[r.resource]), fInt(3, r.balance), fBytes(4, hx(r.receiver))]);
        case 'AccountPermissionUpdateContract':
            return Buffer.concat([fBytes(1, hx(r.owner)), fMsg(2, encPerm(r.owner_permission, 0)),
                ...r.actives.map((a) => fMsg(4, encPerm(a, 2)))]);
        default: throw new Error(r.type);
    }
}
function encRaw(r) {
    const any = Buffer.concat([fBytes(1, Buffer.from(`type.googleapis.com/protocol.${r.type}`)), fBytes(2, encContract(r))]);
    const contract = Buffer.concat([fInt(1, TYPE[r.type]), fMsg(2, any), fInt(5, r.permission_id || 0)]);
    return Buffer.concat([
        fBytes(1, hx(r.ref_block_bytes)), fBytes(4, hx(r.ref_block_hash)), fInt(8, r.expiration),
        fBytes(10, r.memo ? Buffer.from(r.memo, 'utf8') : Buffer.alloc(0)),
        fMsg(11, contract), fInt(14, r.timestamp), fInt(18, r.fee_limit || 0),
    ]).toString('hex');
}

// ---------- signature check with Node/OpenSSL ----------
const N = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
function pubFromPriv(privHex) {
    const ecdh = crypto.createECDH('secp256k1');
    ecdh.setPrivateKey(hx(privHex));
    return ecdh.getPublicKey(); // 65 bytes 04||X||Y
}
function checkSignature(privHex, rawHex, sigHex) {
    if (!/^[0-9a-f]{130}$/.test(sigHex)) return 'not 130 lowercase hex chars';
    const v = parseInt(sigHex.slice(128), 16);
    if (v !== 27 && v !== 28) return `v byte ${v} not 27/28`;
    const s = BigInt('0x' + sigHex.slice(64, 128));
    if (s > N / 2n) return 'high-s';
    const pub = pubFromPriv(privHex);
    const key = crypto.createPublicKey({ key: { kty: 'EC', crv: 'secp256k1', x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33).toString('base64url') }, format: 'jwk' });
    const ok = crypto.verify('sha256', hx(rawHex), { key, dsaEncoding: 'ieee-p1363' }, hx(sigHex.slice(0, 128)));
    if (!ok) return 'ECDSA verify failed';
    return null;
}

// ---------- 1. vectors ----------
const vec = JSON.parse(fs.readFileSync(vectorsPath, 'utf8'));
const keyHexByName = Object.fromEntries(Object.entries(vec.keys).map(([k, v]) => [k, v.privkey_hex]));
const addrByName = Object.fromEntries(Object.entries(vec.keys).map(([k, v]) => [k, v.address_hex]));

function vectorToRequest(v, id) {
    const i = v.inputs;
    const r = {
        id, type: v.contract_type_name, ref_block_bytes: i.ref_block_bytes, ref_block_hash: i.ref_block_hash,
        expiration: i.expiration, timestamp: i.timestamp, permission_id: i.permission_id, privkey: keyHexByName[v.signing_key],
        owner: i.owner_address_hex,
    };
    switch (v.contract_type_name) {
        case 'DelegateResourceContract':
            Object.assign(r, { receiver: i.receiver_address_hex, balance: i.balance, resource: i.resource, lock: i.lock, lock_period: i.lock_period });
            break;
        case 'UnDelegateResourceContract':
            Object.assign(r, { receiver: i.receiver_address_hex, balance: i.balance, resource: i.resource });
            break;
        case 'AccountPermissionUpdateContract':
            r.owner_permission = {
                permission_name: i.owner_permission.permission_name, threshold: i.owner_permission.threshold,
                keys: i.owner_permission.keys.map((k) => ({ address: k.address_hex, weight: k.weight })),
            };
            r.actives = i.actives.map((a) => ({
                permission_name: a.permission_name, threshold: a.threshold, operations: a.operations_hex,
                keys: a.keys.map((k) => ({ address: k.address_hex, weight: k.weight })),
            }));
            break;
        case 'TriggerSmartContract':
            Object.assign(r, { contract: i.contract_address_hex, to: i.to_address_hex, amount: String(i.amount), fee_limit: i.fee_limit });
            break;
        default:
            throw new Error(`no converter for ${v.contract_type_name}`);
    }
    return r;
}

const gen = vec.generated.filter((v) => /^V[1-6]$/.test(v.id));
if (gen.length !== 6) fail(`expected V1..V6 in vectors.json, found ${gen.map((v) => v.id)}`);
const vreqs = gen.map((v, k) => vectorToRequest(v, k + 1));
const vres = runOracle(vreqs).lines;
gen.forEach((v, k) => {
    const o = vres[k];
    if (o.error) return fail(`${v.id}: oracle error ${o.error}`);
    const bad = [];
    if (o.raw_data_hex !== v.raw_data_hex) bad.push(`raw_data_hex\n  got  ${o.raw_data_hex}\n  want ${v.raw_data_hex}`);
    if (o.txid !== v.txid) bad.push(`txid got ${o.txid} want ${v.txid}`);
    if (o.signature !== v.signature_hex) bad.push(`signature got ${o.signature} want ${v.signature_hex}`);
    if (encRaw(vreqs[k]) !== v.raw_data_hex) bad.push('local proto3 encoder disagrees with the vector (check_vectors.js bug)');
    if (bad.length) fail(`${v.id}: ${bad.join('; ')}`); else pass(`${v.id} ${v.contract_type_name}: raw_data_hex, txid, signature match`);
});

// ---------- 2. edge cases ----------
const K1 = keyHexByName.K1, K2 = keyHexByName.K2, K3 = keyHexByName.K3;
const A1 = addrByName.K1, A2 = addrByName.K2, A3 = addrByName.K3;
const USDT = '41a614f803b6fd780986a42c78ec9c7f77e6ded13c';
const base = { ref_block_bytes: '6431', ref_block_hash: '212a13dbe72ac5c0', expiration: 1751466492000, timestamp: 1751466432000, permission_id: 0, privkey: K1 };
const OPS = '0000000000000006000000000000000000000000000000000000000000000000';
let nid = 100;
const E = (name, req, expect = {}) => ({ name, req: { id: nid++, ...base, ...req }, ...expect });
const del = { type: 'DelegateResourceContract', owner: A1, receiver: A3, balance: 10000000, resource: 'ENERGY', lock: false, lock_period: 0 };
const trc = { type: 'TriggerSmartContract', owner: A1, contract: USDT, to: A3, amount: '1000000', fee_limit: 30000000 };
const perm = {
    type: 'AccountPermissionUpdateContract', owner: A1,
    owner_permission: { permission_name: 'owner', threshold: 1, keys: [{ address: A1, weight: 1 }] },
    actives: [{ permission_name: 'relayer', threshold: 1, operations: OPS, keys: [{ address: A2, weight: 1 }] }],
};
// expectRaw(req) -> expected hex; default = canonical proto3 encoding
const dropLockPeriod = (r) => encRaw({ ...r, lock_period: 0 }); // tronweb drops lock_period when lock=false
const cases = [
    E('Delegate lock=true lock_period=0 (lock written, period omitted)', { ...del, lock: true, lock_period: 0 }),
    E('Delegate lock=false lock_period=28800 (tronweb DROPS lock_period)', { ...del, lock: false, lock_period: 28800 }, { expectRaw: dropLockPeriod }),
    E('Delegate BANDWIDTH (resource omitted)', { ...del, resource: 'BANDWIDTH' }),
    E('Delegate BANDWIDTH lock=true lock_period=86400', { ...del, resource: 'BANDWIDTH', lock: true, lock_period: 86400 }),
    E('Delegate permission_id=3 signed by K2', { ...del, permission_id: 3, privkey: K2 }),
    E('UnDelegate BANDWIDTH permission_id=2', { type: 'UnDelegateResourceContract', owner: A1, receiver: A3, balance: 1, resource: 'BANDWIDTH', permission_id: 2, privkey: K2 }),
    E('Delegate with ASCII memo', { ...del, memo: 'tronrelay order #42' }),
    E('Delegate with unicode memo', { ...del, memo: 'énergie ⚡ 能量 🚀' }),
    E('Delegate with memo starting "0x" (kept as UTF-8 text)', { ...del, memo: '0xdeadbeef' }),
    E('Delegate with empty memo (no data field)', { ...del, memo: '' }),
    E('Transfer', { type: 'TransferContract', owner: A1, to: A3, amount: 1 }),
    E('Transfer amount 2^53-1', { type: 'TransferContract', owner: A1, to: A2, amount: Number.MAX_SAFE_INTEGER }),
    E('Transfer memo + permission_id 2', { type: 'TransferContract', owner: A1, to: A2, amount: 123456789, memo: 'hi', permission_id: 2, privkey: K2 }),
    E('Transfer amount 2^53 (rejected by oracle)', { type: 'TransferContract', owner: A1, to: A2, amount: 2 ** 53 }, { expectError: /beyond 2\^53-1/ }),
    E('Transfer amount 0 (tronweb rejects)', { type: 'TransferContract', owner: A1, to: A2, amount: 0 }, { expectError: /./ }),
    E('Transfer to self (tronweb rejects)', { type: 'TransferContract', owner: A1, to: A1, amount: 5 }, { expectError: /same account/ }),
    E('FreezeV2 ENERGY', { type: 'FreezeBalanceV2Contract', owner: A1, frozen_balance: 9e15, resource: 'ENERGY' }),
    E('FreezeV2 BANDWIDTH', { type: 'FreezeBalanceV2Contract', owner: A1, frozen_balance: 1000000, resource: 'BANDWIDTH' }),
    E('UnfreezeV2 ENERGY perm 2', { type: 'UnfreezeBalanceV2Contract', owner: A1, unfreeze_balance: 5000000, resource: 'ENERGY', permission_id: 2, privkey: K3 }),
    E('UnfreezeV2 BANDWIDTH', { type: 'UnfreezeBalanceV2Contract', owner: A1, unfreeze_balance: 1, resource: 'BANDWIDTH' }),
    E('Delegate receiver == owner (tronweb rejects)', { ...del, receiver: A1 }, { expectError: /same as owner/ }),
    E('TRC20 amount 0', { ...trc, amount: '0' }),
    E('TRC20 amount 2^200', { ...trc, amount: (2n ** 200n).toString() }),
    E('TRC20 amount 2^256-1', { ...trc, amount: (2n ** 256n - 1n).toString() }),
    E('TRC20 amount 2^256 (overflow, tronweb/ethers rejects)', { ...trc, amount: (2n ** 256n).toString() }, { expectError: /./ }),
    E('TRC20 permission_id 2 + memo', { ...trc, permission_id: 2, memo: 'usdt ✓', privkey: K2 }),
    E('TRC20 fee_limit 0 (tronweb rejects)', { ...trc, fee_limit: 0 }, { expectError: /feeLimit/ }),
    E('PermissionUpdate two actives, multi-key', {
        ...perm,
        owner_permission: { permission_name: 'owner', threshold: 2, keys: [{ address: A1, weight: 1 }, { address: A2, weight: 1 }] },
        actives: [
            { permission_name: 'relayer', threshold: 1, operations: OPS, keys: [{ address: A2, weight: 1 }] },
            { permission_name: 'stake', threshold: 3, operations: '000000000000c00f000000000000000000000000000000000000000000000000', keys: [{ address: A2, weight: 2 }, { address: A3, weight: 1 }] },
        ],
    }),
    E('PermissionUpdate with memo', { ...perm, memo: 'perm' }),
    E('PermissionUpdate all-zero operations', { ...perm, actives: [{ ...perm.actives[0], operations: '00'.repeat(32) }] }),
];

const { lines: eres } = runOracle(cases.map((c) => c.req));
cases.forEach((c, k) => {
    const o = eres[k];
    if (c.expectError) {
        if (!o.error) return fail(`${c.name}: expected an error, got ${JSON.stringify(o)}`);
        if (!c.expectError.test(o.error)) return fail(`${c.name}: error "${o.error}" does not match ${c.expectError}`);
        return pass(`${c.name}: error "${o.error}"`);
    }
    if (o.error) return fail(`${c.name}: oracle error ${o.error}`);
    const want = (c.expectRaw || encRaw)(c.req);
    const bad = [];
    if (o.raw_data_hex !== want) bad.push(`raw_data_hex\n  got  ${o.raw_data_hex}\n  want ${want}`);
    const txid = crypto.createHash('sha256').update(hx(o.raw_data_hex)).digest('hex');
    if (o.txid !== txid) bad.push(`txid ${o.txid} != sha256(raw) ${txid}`);
    const sigErr = checkSignature(c.req.privkey, o.raw_data_hex, o.signature);
    if (sigErr) bad.push(`signature: ${sigErr}`);
    if (bad.length) fail(`${c.name}: ${bad.join('; ')}`); else pass(c.name);
});

// ---------- 3. timing: 1,500 mixed requests ----------
const pool = cases.filter((c) => !c.expectError).map((c) => c.req).concat(vreqs);
const bulk = Array.from({ length: 1500 }, (_, i) => ({ ...pool[i % pool.length], id: 10000 + i, timestamp: base.timestamp + i }));
const { lines: bres, ms } = runOracle(bulk);
const berr = bres.filter((l) => l.error);
const bbad = bres.filter((l) => !l.error && crypto.createHash('sha256').update(hx(l.raw_data_hex)).digest('hex') !== l.txid);
if (berr.length) fail(`bulk: ${berr.length} errors, first: ${berr[0].error}`);
else if (bbad.length) fail(`bulk: ${bbad.length} txids != sha256(raw_data)`);
else pass(`bulk: 1500 requests in ${ms.toFixed(0)} ms (including node start-up and tronweb load)`);

console.log(failures ? `\n${failures} FAILURE(S)` : '\nALL OK');
process.exit(failures ? 1 : 0);
