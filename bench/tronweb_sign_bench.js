#!/usr/bin/env node
// Baseline for bench/sign_vs_tronweb.sh: how many DelegateResource transactions TronWeb (pinned 6.5.1)
// builds and signs per second on one core, offline, the way a Node relayer would do it.
//
// Usage: node tronweb_sign_bench.js --modules DIR [--mode MODE] [--seconds N] [--warmup N]
//   DIR is the npm prefix holding node_modules/tronweb (tests/oracle/install.sh DIR installs it).
//   MODE crypto (default): the relayer's transaction (vector V3: Permission_id=2, relayer key K2)
//        signed with utils.crypto.signTransaction, TronWeb's bare signing call.
//   MODE trx: the same transaction through tronWeb.trx.sign(tx, key, true, true), the public API,
//        which also re-checks raw_data_hex against raw_data (multisig=true: K2 is not the owner).
//   MODE trx-owner: the owner signing its own transaction (vector V1, key K1) with trx.sign(tx, key),
//        which also derives the key's address to compare with owner_address; DESIGN.md §10's figure.
// Prints one JSON object: {"tronweb_version","mode","tx","seconds","cpu_seconds","tx_per_sec",
// "tx_per_cpu_sec"}. tx_per_cpu_sec divides by the process's CPU time (all threads, so V8's helper
// threads count), which is what "per core" means when comparing with bench_chain's CPU-time rates.
'use strict';

const path = require('path');

const PINNED_VERSION = '6.5.1';
const OWNER = '417e5f4552091a69125d5dfcb7b8c2659029395bdf';  // K1
const RECEIVER = '4194a15629b2b2bbd3a5453e6d6696b2875278633b';  // K3
const BALANCE = 10000000;
const TIMESTAMP = 1751466432000;

// The first transaction of each mode must reproduce its vector from shared/tron/vectors.json, so the
// loop times exactly the work bench_chain's BM_BuildSignDelegate does (or, for trx-owner, its twin).
const V3 = {
    key: '1234567890123456789012345678901234567890123456789012345678901234',  // K2, the relayer
    permissionId: 2,
    rawHex: '0a0264312208212a13dbe72ac5c040e080a7dcfc325a740839126e0a35747970652e676f6f676c6561706973'
        + '2e636f6d2f70726f746f636f6c2e44656c65676174655265736f75726365436f6e747261637412350a15417e5f45'
        + '52091a69125d5dfcb7b8c2659029395bdf10011880ade20422154194a15629b2b2bbd3a5453e6d6696b287527863'
        + '3b28027080aca3dcfc32',
    signature: '26539af7e41e1c2dab40bb254e5a75f0ab2ec99ceba660846d8fd059c068519d30814b56dbca20505682b124'
        + 'b5504ec645eb3ac303ffa6a6f8a1d467d7cc89281b',
};
const V1 = {
    key: '0000000000000000000000000000000000000000000000000000000000000001',  // K1, the owner
    permissionId: 0,
    rawHex: '0a0264312208212a13dbe72ac5c040e080a7dcfc325a720839126e0a35747970652e676f6f676c6561706973'
        + '2e636f6d2f70726f746f636f6c2e44656c65676174655265736f75726365436f6e747261637412350a15417e5f45'
        + '52091a69125d5dfcb7b8c2659029395bdf10011880ade20422154194a15629b2b2bbd3a5453e6d6696b287527863'
        + '3b7080aca3dcfc32',
    signature: 'f60d86c390fdaa7a26d6fd317cd129bbb363386b3c7f41c36f26679060eef1a439bb7a09548b1c9a10948a2c'
        + '1e5ba5a7210a86876712855d42e4bcdf81e518281c',
};
const MODES = {
    crypto: { vector: V3, sign: (ctx, tx, key) => ctx.utils.crypto.signTransaction(key, tx) },
    trx: { vector: V3, sign: (ctx, tx, key) => ctx.tronWeb.trx.sign(tx, key, true, true) },
    'trx-owner': { vector: V1, sign: (ctx, tx, key) => ctx.tronWeb.trx.sign(tx, key) },
};

function die(msg) {
    process.stderr.write(`tronweb_sign_bench: ${msg}\n`);
    process.exit(2);
}

function parseArgs(argv) {
    const out = { modules: null, mode: 'crypto', seconds: 10, warmup: 2 };
    for (let i = 0; i < argv.length; i++) {
        const [key, inline] = argv[i].split(/=(.*)/s);
        const value = () => (inline !== undefined ? inline : argv[++i]);
        if (key === '--modules') out.modules = value();
        else if (key === '--mode') out.mode = value();
        else if (key === '--seconds') out.seconds = Number(value());
        else if (key === '--warmup') out.warmup = Number(value());
        else die(`unexpected argument ${argv[i]}`);
    }
    if (!out.modules) {
        die('usage: node tronweb_sign_bench.js --modules DIR [--mode MODE] [--seconds N] [--warmup N]');
    }
    if (!(out.mode in MODES)) die(`--mode must be one of ${Object.keys(MODES).join(', ')}`);
    if (!(out.seconds > 0) || !(out.warmup >= 0)) die('--seconds must be > 0 and --warmup >= 0');
    return out;
}

function loadTronWeb(modulesDir) {
    const modPath = path.resolve(modulesDir, 'node_modules', 'tronweb');
    let mod;
    try {
        mod = require(modPath);
    } catch (e) {
        die(`cannot load tronweb from ${modPath}: ${e.message} (run tests/oracle/install.sh)`);
    }
    if (mod.TronWeb.version !== PINNED_VERSION) {
        die(`tronweb at ${modPath} is ${mod.TronWeb.version}, expected ${PINNED_VERSION}`);
    }
    // Offline by construction: a network call would make this a benchmark of the network.
    mod.providers.HttpProvider.prototype.request = function (url) {
        return Promise.reject(new Error(`tronweb attempted a network request to ${url}`));
    };
    return { tronWeb: new mod.TronWeb({ fullHost: 'http://127.0.0.1:1' }), utils: mod.utils };
}

async function buildAndSign(ctx, mode, timestamp) {
    const { vector, sign } = MODES[mode];
    const options = {
        blockHeader: {
            ref_block_bytes: '6431',
            ref_block_hash: '212a13dbe72ac5c0',
            expiration: timestamp + 60000,
            timestamp,
        },
    };
    if (vector.permissionId !== 0) options.permissionId = vector.permissionId;
    const tx = await ctx.tronWeb.transactionBuilder.delegateResource(
        BALANCE, RECEIVER, 'ENERGY', OWNER, false, 0, options);
    return sign(ctx, tx, vector.key);
}

// Runs for `seconds`, one transaction after another; a new timestamp each time, as in production.
async function run(ctx, mode, seconds, firstTimestamp) {
    let timestamp = firstTimestamp;
    let count = 0;
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    const limit = start + BigInt(Math.round(seconds * 1e9));
    let now = start;
    while (now < limit) {
        for (let i = 0; i < 50; i++) {
            const signed = await buildAndSign(ctx, mode, ++timestamp);
            if (signed.signature.length !== 1) throw new Error('expected one signature');
        }
        count += 50;
        now = process.hrtime.bigint();
    }
    const cpu = process.cpuUsage(cpuStart);
    return {
        count,
        seconds: Number(now - start) / 1e9,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        timestamp,
    };
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const ctx = loadTronWeb(args.modules);

    const { vector } = MODES[args.mode];
    const first = await buildAndSign(ctx, args.mode, TIMESTAMP);
    if (first.raw_data_hex !== vector.rawHex || first.signature[0].toLowerCase() !== vector.signature) {
        die(`TronWeb's first transaction differs from its vector: ${first.raw_data_hex} ${first.signature[0]}`);
    }

    let timestamp = TIMESTAMP;
    if (args.warmup > 0) timestamp = (await run(ctx, args.mode, args.warmup, timestamp)).timestamp;
    const result = await run(ctx, args.mode, args.seconds, timestamp);
    process.stdout.write(JSON.stringify({
        tronweb_version: PINNED_VERSION,
        mode: args.mode,
        tx: result.count,
        seconds: result.seconds,
        cpu_seconds: result.cpuSeconds,
        tx_per_sec: result.count / result.seconds,
        tx_per_cpu_sec: result.count / result.cpuSeconds,
    }) + '\n');
}

main().catch((e) => die(`fatal: ${e && e.stack ? e.stack : e}`));
