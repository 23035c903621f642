#!/usr/bin/env node
// Independent encoding/signing oracle built on tronweb (pinned 6.5.1, installed by install.sh).
//
// Usage: node tronweb_oracle.js --modules DIR INPUT.jsonl     (INPUT "-" = stdin)
//   DIR is the npm prefix that contains node_modules/tronweb.
//
// One JSON request per input line (blank lines are skipped); one JSON result line per request on
// stdout, in input order:
//   {"id":N,"raw_data_hex":"..","txid":"..","signature":"<130 lowercase hex, v = 1b/1c>"}
//   {"id":N,"error":"..."}                    (tronweb threw, or the request was rejected)
// Exit status: 0 when every line was answered (even with "error" results), 2 on usage/setup errors.
//
// No network: TronWeb gets a dummy host, every builder gets options.blockHeader, TRC20 calls use
// txLocal, memos use addUpdateData(..., {txLocal: true}), and HttpProvider.request is replaced by a
// function that throws, so an unexpected HTTP call becomes an "error" result instead of traffic.
'use strict';

const fs = require('fs');
const path = require('path');
const nodeCrypto = require('crypto');

const PINNED_VERSION = '6.5.1';

function usage(msg) {
    if (msg) process.stderr.write(`tronweb_oracle: ${msg}\n`);
    process.stderr.write('usage: node tronweb_oracle.js --modules DIR INPUT.jsonl\n');
    process.exit(2);
}

function parseArgs(argv) {
    let modules = null;
    let input = null;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--modules') {
            if (i + 1 >= argv.length) usage('--modules needs a value');
            modules = argv[++i];
        } else if (a.startsWith('--modules=')) {
            modules = a.slice('--modules='.length);
        } else if (input === null) {
            input = a;
        } else {
            usage(`unexpected argument ${a}`);
        }
    }
    if (!modules) usage('missing --modules DIR');
    if (!input) usage('missing INPUT.jsonl');
    return { modules, input };
}

function loadTronWeb(modulesDir) {
    const modPath = path.resolve(modulesDir, 'node_modules', 'tronweb');
    let mod;
    try {
        mod = require(modPath);
    } catch (e) {
        usage(`cannot load tronweb from ${modPath}: ${e.message} (run tests/oracle/install.sh)`);
    }
    if (mod.TronWeb.version !== PINNED_VERSION) {
        usage(`tronweb at ${modPath} is ${mod.TronWeb.version}, expected ${PINNED_VERSION}`);
    }
    // Hard guarantee of no network traffic.
    mod.providers.HttpProvider.prototype.request = function (url) {
        return Promise.reject(new Error(`oracle: tronweb attempted network request to ${url}`));
    };
    const tronWeb = new mod.TronWeb({ fullHost: 'http://127.0.0.1:1' });
    return { tronWeb, utils: mod.utils };
}

const HEX_RE = /^[0-9a-f]*$/;
const SUPPORTED_TYPES = [
    'TransferContract', 'TriggerSmartContract', 'FreezeBalanceV2Contract', 'UnfreezeBalanceV2Contract',
    'DelegateResourceContract', 'UnDelegateResourceContract', 'AccountPermissionUpdateContract',
];

function need(req, key, kind) {
    const v = req[key];
    switch (kind) {
        case 'int': // int64 field that tronweb handles as a JS number
            if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`"${key}" must be an integer`);
            if (!Number.isSafeInteger(v)) {
                throw new Error(`"${key}" = ${v} is beyond 2^53-1: tronweb 6.5.1 encodes int64 fields from JS numbers and cannot represent it exactly`);
            }
            return v;
        case 'hex':
            if (typeof v !== 'string' || !HEX_RE.test(v) || v.length % 2) throw new Error(`"${key}" must be lowercase even-length hex`);
            return v;
        case 'addr':
            if (typeof v !== 'string' || !/^41[0-9a-f]{40}$/.test(v)) throw new Error(`"${key}" must be 21-byte hex starting with 41`);
            return v;
        case 'resource':
            if (v !== 'ENERGY' && v !== 'BANDWIDTH') throw new Error(`"${key}" must be "ENERGY" or "BANDWIDTH"`);
            return v;
        case 'bool':
            if (typeof v !== 'boolean') throw new Error(`"${key}" must be a boolean`);
            return v;
        case 'string':
            if (typeof v !== 'string') throw new Error(`"${key}" must be a string`);
            return v;
        default:
            throw new Error(`internal: unknown kind ${kind}`);
    }
}

function keysOf(perm, where) {
    if (!Array.isArray(perm.keys)) throw new Error(`${where}.keys must be an array`);
    return perm.keys.map((k, i) => ({
        address: need(k, 'address', 'addr'),
        weight: need(k, 'weight', 'int'),
    }));
}

async function buildUnsigned(tb, req) {
    const blockHeader = {
        ref_block_bytes: need(req, 'ref_block_bytes', 'hex'),
        ref_block_hash: need(req, 'ref_block_hash', 'hex'),
        expiration: need(req, 'expiration', 'int'),
        timestamp: need(req, 'timestamp', 'int'),
    };
    const opts = { blockHeader };
    const permissionId = req.permission_id === undefined ? 0 : need(req, 'permission_id', 'int');
    if (permissionId !== 0) opts.permissionId = permissionId;

    switch (req.type) {
        case 'TransferContract':
            return tb.sendTrx(need(req, 'to', 'addr'), need(req, 'amount', 'int'), need(req, 'owner', 'addr'), opts);

        case 'TriggerSmartContract': {
            const amount = need(req, 'amount', 'string');
            if (!/^(0|[1-9][0-9]*)$/.test(amount)) throw new Error('"amount" must be a decimal string');
            const res = await tb.triggerSmartContract(
                need(req, 'contract', 'addr'),
                'transfer(address,uint256)',
                { ...opts, feeLimit: need(req, 'fee_limit', 'int'), callValue: 0, txLocal: true },
                [
                    { type: 'address', value: need(req, 'to', 'addr') },
                    { type: 'uint256', value: amount },
                ],
                need(req, 'owner', 'addr'),
            );
            if (!res || !res.result || res.result.result !== true || !res.transaction) {
                throw new Error(`triggerSmartContract returned ${JSON.stringify(res)}`);
            }
            return res.transaction;
        }

        case 'FreezeBalanceV2Contract':
            return tb.freezeBalanceV2(need(req, 'frozen_balance', 'int'), need(req, 'resource', 'resource'), need(req, 'owner', 'addr'), opts);

        case 'UnfreezeBalanceV2Contract':
            return tb.unfreezeBalanceV2(need(req, 'unfreeze_balance', 'int'), need(req, 'resource', 'resource'), need(req, 'owner', 'addr'), opts);

        case 'DelegateResourceContract':
            return tb.delegateResource(
                need(req, 'balance', 'int'),
                need(req, 'receiver', 'addr'),
                need(req, 'resource', 'resource'),
                need(req, 'owner', 'addr'),
                need(req, 'lock', 'bool'),
                need(req, 'lock_period', 'int'),
                opts,
            );

        case 'UnDelegateResourceContract':
            return tb.undelegateResource(need(req, 'balance', 'int'), need(req, 'receiver', 'addr'), need(req, 'resource', 'resource'), need(req, 'owner', 'addr'), opts);

        case 'AccountPermissionUpdateContract': {
            const op = req.owner_permission;
            if (!op || typeof op !== 'object') throw new Error('"owner_permission" must be an object');
            if (!Array.isArray(req.actives)) throw new Error('"actives" must be an array');
            const ownerPermission = {
                type: 0,
                permission_name: need(op, 'permission_name', 'string'),
                threshold: need(op, 'threshold', 'int'),
                keys: keysOf(op, 'owner_permission'),
            };
            const actives = req.actives.map((a, i) => {
                const ops = need(a, 'operations', 'hex');
                return {
                    type: 2,
                    permission_name: need(a, 'permission_name', 'string'),
                    threshold: need(a, 'threshold', 'int'),
                    operations: ops,
                    keys: keysOf(a, `actives[${i}]`),
                };
            });
            return tb.updateAccountPermissions(need(req, 'owner', 'addr'), ownerPermission, undefined, actives, opts);
        }

        default:
            throw new Error(`unsupported type ${JSON.stringify(req.type)}`);
    }
}

async function handle(ctx, req) {
    const tb = ctx.tronWeb.transactionBuilder;
    if (!SUPPORTED_TYPES.includes(req.type)) throw new Error(`unsupported type ${JSON.stringify(req.type)}`);
    const privkey = need(req, 'privkey', 'hex');
    if (privkey.length !== 64) throw new Error('"privkey" must be 64 hex chars');

    let tx = await buildUnsigned(tb, req);

    if (req.memo !== undefined) {
        const memo = need(req, 'memo', 'string');
        // Pass the UTF-8 bytes as hex (same TextEncoder conversion tronweb's fromUtf8 uses). The
        // 'utf8' dataFormat would misread a memo that starts with "0x" as hex (see README/report).
        // An empty memo is ignored by tronweb (no raw_data.data), matching proto3.
        if (memo.length > 0) {
            const memoHex = Buffer.from(new TextEncoder().encode(memo)).toString('hex');
            tx = await tb.addUpdateData(tx, memoHex, 'hex', { txLocal: true });
        }
    }

    const rawHex = String(tx.raw_data_hex).toLowerCase();
    const txid = String(tx.txID).toLowerCase();
    // Sanity: tronweb's txID must be sha256 of its raw_data_hex.
    const check = nodeCrypto.createHash('sha256').update(Buffer.from(rawHex, 'hex')).digest('hex');
    if (check !== txid) throw new Error(`tronweb txID ${txid} != sha256(raw_data_hex) ${check}`);

    const signed = ctx.utils.crypto.signTransaction(privkey, tx);
    const sig = String(signed.signature[0]).toLowerCase();
    if (!/^[0-9a-f]{130}$/.test(sig)) throw new Error(`unexpected signature format ${sig}`);
    return { id: req.id, raw_data_hex: rawHex, txid, signature: sig };
}

async function main() {
    const { modules, input } = parseArgs(process.argv.slice(2));
    let text;
    try {
        text = fs.readFileSync(input === '-' ? 0 : input, 'utf8');
    } catch (e) {
        usage(`cannot read ${input}: ${e.message}`);
    }
    const ctx = loadTronWeb(modules);

    const out = [];
    for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        let req;
        try {
            req = JSON.parse(line);
        } catch (e) {
            out.push(JSON.stringify({ id: null, error: `invalid JSON line: ${e.message}` }));
            continue;
        }
        const id = req && typeof req === 'object' && 'id' in req ? req.id : null;
        try {
            if (!req || typeof req !== 'object' || Array.isArray(req)) throw new Error('line is not a JSON object');
            out.push(JSON.stringify(await handle(ctx, req)));
        } catch (e) {
            const msg = e && e.message !== undefined ? e.message : String(e);
            out.push(JSON.stringify({ id, error: String(msg) }));
        }
    }
    if (out.length) process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
    process.stderr.write(`tronweb_oracle: fatal: ${e && e.stack ? e.stack : e}\n`);
    process.exit(2);
});
