#!/usr/bin/env node
// Third-party interop check: Node's @grpc/grpc-js drives a running Memo node through the memo.kvs and
// memo.vs services, loading the protos straight from Memo.Protocol/Protos with proto-loader (no generated
// code), so anything the .NET side gets subtly wrong on the wire (framing, trailers, status codes,
// proto3 field presence) shows up here.
//
// Usage: node interop.js <host:port> [ca.crt]
// With a CA file (the network CA from `memo network create`) the client speaks TLS and trusts only that CA.
// MEMO_INTEROP_VERSIONS: the node's memo.network.versions (default 1), for the versioning checks.
// Prints one line per check ("ok <name>" / "FAIL <name>: <why>"), then "interop: N passed, M failed".
// Exit code 0 only when every check passed.
'use strict';

const path = require('path');
const crypto = require('crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const CALL_TIMEOUT_MS = 30_000; // per RPC; a hung call fails its check instead of the whole run
const OVERALL_TIMEOUT_MS = 150_000; // below the xunit wrapper's 3 minutes, so the summary is always printed
const LIST_KEYS = 1000;
const LIST_CONCURRENCY = 32;
const VERSIONS = Number.parseInt(process.env.MEMO_INTEROP_VERSIONS ?? '1', 10);

const target = process.argv[2];
const caFile = process.argv[3];
if (!target || !/^[^:\s]+:\d+$/.test(target)) {
  console.error('usage: node interop.js <host:port> [ca.crt]');
  process.exit(2);
}

const repoRoot = path.resolve(__dirname, '..', '..');
const protoDir = path.join(repoRoot, 'Memo.Protocol', 'Protos');
const definition = protoLoader.loadSync(['memo_kvs.proto', 'memo_vs.proto'], {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
  includeDirs: [protoDir],
});
const loaded = grpc.loadPackageDefinition(definition);
// The standard health and reflection services, from the small copies of their protos beside this script.
const standard = grpc.loadPackageDefinition(protoLoader.loadSync(['health.proto', 'reflection.proto'], {
  keepCase: true,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [path.join(__dirname, 'protos')],
}));
const credentials = caFile
  ? grpc.credentials.createSsl(require('fs').readFileSync(caFile))
  : grpc.credentials.createInsecure();
const kvs = new loaded.memo.kvs.KeyValueStore(target, credentials);
const vs = new loaded.memo.vs.ValueStore(target, credentials);

const codeNames = Object.fromEntries(Object.entries(grpc.status).map(([name, code]) => [code, name]));
const describeCode = (code) => `${codeNames[code] ?? 'UNKNOWN_CODE'} (${code})`;

// ---------------------------------------------------------------------------------------------------
// Check runner

let passed = 0;
let failed = 0;
const failedChecks = new Set();

class CheckFailure extends Error {}

function fail(why) {
  throw new CheckFailure(why);
}

function assert(condition, why) {
  if (!condition) fail(why);
}

/** Runs one named check; `needs` names earlier checks whose results it depends on. */
async function check(name, fn, needs = []) {
  const missing = needs.filter((n) => failedChecks.has(n));
  if (missing.length > 0) {
    failed++;
    failedChecks.add(name);
    console.log(`FAIL ${name}: not run, it needs ${missing.join(', ')}, which failed`);
    return;
  }
  try {
    await fn();
    passed++;
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    failedChecks.add(name);
    const why = e instanceof CheckFailure ? e.message : `threw ${e && e.stack ? e.stack : e}`;
    console.log(`FAIL ${name}: ${why}`);
  }
}

function summary() {
  console.log(`interop: ${passed} passed, ${failed} failed`);
}

// ---------------------------------------------------------------------------------------------------
// RPC helpers

/** Calls a unary method and resolves with { err, res } (never rejects); `headers` are request metadata. */
function call(client, method, request, deadline, headers) {
  return new Promise((resolve) => {
    const options = { deadline: deadline ?? new Date(Date.now() + CALL_TIMEOUT_MS) };
    const metadata = new grpc.Metadata();
    for (const [name, value] of Object.entries(headers ?? {})) metadata.set(name, value);
    client[method](request, metadata, options, (err, res) => resolve({ err, res }));
  });
}

function serviceName(client) {
  return client === kvs ? 'kvs' : 'vs';
}

/** Calls a method that must succeed; returns its response. */
async function expectOk(client, method, request, headers) {
  const { err, res } = await call(client, method, request, undefined, headers);
  if (err) {
    fail(`${serviceName(client)}.${method}: expected OK, got ${describeCode(err.code)}: ${err.details}`);
  }
  return res;
}

/** Calls a method that must fail with exactly `code`. */
async function expectStatus(client, method, request, code, deadline, headers) {
  const { err } = await call(client, method, request, deadline, headers);
  if (!err) fail(`${serviceName(client)}.${method}: expected ${describeCode(code)}, got OK`);
  if (err.code !== code) {
    fail(`${serviceName(client)}.${method}: expected ${describeCode(code)}, got ${describeCode(err.code)}: ${err.details}`);
  }
}

function sameBytes(actual, expected) {
  return Buffer.isBuffer(actual) && Buffer.compare(actual, expected) === 0;
}

function hex(buffer) {
  return Buffer.isBuffer(buffer) ? `0x${buffer.toString('hex')}` : String(buffer);
}

/** UTF-8 byte order, which is the order the store lists keys in. */
function byteOrder(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sameList(actual, expected) {
  return actual.length === expected.length && actual.every((v, i) => v === expected[i]);
}

function firstDifference(actual, expected) {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      return `at ${i}: got ${JSON.stringify(actual[i])}, expected ${JSON.stringify(expected[i])} ` +
        `(got ${actual.length} entries, expected ${expected.length})`;
    }
  }
  return 'none';
}

/** Runs `work(item)` over `items` with at most `limit` calls in flight. */
async function inParallel(items, limit, work) {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  });
  await Promise.all(runners);
}

function randomAddress(mutable) {
  const address = crypto.randomBytes(32);
  address[31] = mutable ? address[31] & 0xfe : address[31] | 0x01;
  return address;
}

/** A copy of a fetched block carrying `data` as its payload (the oneof's other member removed). */
function withData(block, data) {
  const copy = { ...block, data };
  delete copy.data_plain;
  delete copy.payload;
  return copy;
}

// ---------------------------------------------------------------------------------------------------
// memo.kvs

const run = `interop-${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`;

async function kvsChecks() {
  const key = `${run}/a`;
  const value1 = Buffer.from([0x00, 0x01, 0x02, 0xfe, 0xff, 0x41]);
  const value2 = Buffer.from('second value, longer than the first', 'utf8');

  await check('kvs.insert.new', async () => {
    await expectOk(kvs, 'Insert', { key, value: value1 });
  });
  await check('kvs.insert.existing-is-already-exists', async () => {
    await expectStatus(kvs, 'Insert', { key, value: value2 }, grpc.status.ALREADY_EXISTS);
  }, ['kvs.insert.new']);
  await check('kvs.fetch.returns-inserted-bytes', async () => {
    const res = await expectOk(kvs, 'Fetch', { key });
    assert(sameBytes(res.value, value1), `value ${hex(res.value)}, expected ${hex(value1)}`);
  }, ['kvs.insert.new']);
  await check('kvs.fetch.missing-is-not-found', async () => {
    await expectStatus(kvs, 'Fetch', { key: `${run}/never-written` }, grpc.status.NOT_FOUND);
  });
  await check('kvs.update.existing', async () => {
    await expectOk(kvs, 'Update', { key, value: value2 });
    const res = await expectOk(kvs, 'Fetch', { key });
    assert(sameBytes(res.value, value2), `after Update, Fetch gave ${hex(res.value)}, expected ${hex(value2)}`);
  }, ['kvs.insert.new']);
  await check('kvs.update.missing-is-not-found', async () => {
    await expectStatus(kvs, 'Update', { key: `${run}/never-written`, value: value1 }, grpc.status.NOT_FOUND);
  });
  const upsertKey = `${run}/upserted`;
  await check('kvs.upsert.new', async () => {
    await expectOk(kvs, 'Upsert', { key: upsertKey, value: value1 });
    const res = await expectOk(kvs, 'Fetch', { key: upsertKey });
    assert(sameBytes(res.value, value1), `after Upsert, Fetch gave ${hex(res.value)}, expected ${hex(value1)}`);
  });
  await check('kvs.upsert.existing', async () => {
    await expectOk(kvs, 'Upsert', { key: upsertKey, value: value2 });
    const res = await expectOk(kvs, 'Fetch', { key: upsertKey });
    assert(sameBytes(res.value, value2), `after second Upsert, Fetch gave ${hex(res.value)}, expected ${hex(value2)}`);
  }, ['kvs.upsert.new']);
  await check('kvs.insert.empty-key-is-invalid-argument', async () => {
    await expectStatus(kvs, 'Insert', { key: '', value: value1 }, grpc.status.INVALID_ARGUMENT);
  });
  await check('kvs.delete.then-fetch-is-not-found', async () => {
    await expectOk(kvs, 'Delete', { key });
    await expectStatus(kvs, 'Fetch', { key }, grpc.status.NOT_FOUND);
  }, ['kvs.insert.new']);
  await check('kvs.delete.missing-is-not-found', async () => {
    await expectStatus(kvs, 'Delete', { key: `${run}/never-written` }, grpc.status.NOT_FOUND);
  });

  await versionChecks();
  await consistencyChecks();
  await listChecks();
}

// Read and write consistency chosen per call by request headers (memo-read-consistency: linearizable | stale,
// memo-write-consistency: majority | async). An async upsert is answered once the key shard's leader holds it
// durably; a linearizable read sees it once it commits, so the read is retried for a while.
async function consistencyChecks() {
  const key = `${run}/consistency`;
  const asyncWrite = { 'memo-write-consistency': 'async' };
  const value = Buffer.from('written with memo-write-consistency: async', 'utf8');
  await check('kvs.consistency.async-upsert-is-acknowledged', async () => {
    await expectOk(kvs, 'Upsert', { key, value }, asyncWrite);
  });
  await check('kvs.consistency.async-upsert-visible-once-committed', async () => {
    const until = Date.now() + 10_000;
    let res;
    do {
      const answer = await call(kvs, 'Fetch', { key }, undefined, { 'memo-read-consistency': 'linearizable' });
      res = answer.res;
      if (res && sameBytes(res.value, value)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (Date.now() < until);
    fail(`a linearizable Fetch still answers ${res ? hex(res.value) : 'an error'} 10 s after the async upsert`);
  }, ['kvs.consistency.async-upsert-is-acknowledged']);
  await check('kvs.consistency.stale-fetch-answers-the-value', async () => {
    const res = await expectOk(kvs, 'Fetch', { key }, { 'memo-read-consistency': 'stale' });
    assert(sameBytes(res.value, value), `stale Fetch answered ${hex(res.value)}`);
  }, ['kvs.consistency.async-upsert-visible-once-committed']);
  await check('kvs.consistency.majority-upsert-is-read-back', async () => {
    const replaced = Buffer.from('written with memo-write-consistency: majority', 'utf8');
    await expectOk(kvs, 'Upsert', { key, value: replaced }, { 'memo-write-consistency': 'majority' });
    const res = await expectOk(kvs, 'Fetch', { key });
    assert(sameBytes(res.value, replaced), `Fetch after a majority upsert answered ${hex(res.value)}`);
  });
  await check('kvs.consistency.unknown-write-level-is-invalid-argument', async () => {
    await expectStatus(kvs, 'Upsert', { key, value }, grpc.status.INVALID_ARGUMENT, undefined, { 'memo-write-consistency': 'eventual' });
  });
  await check('kvs.consistency.unknown-read-level-is-invalid-argument', async () => {
    await expectStatus(kvs, 'Fetch', { key }, grpc.status.INVALID_ARGUMENT, undefined, { 'memo-read-consistency': 'eventual' });
  });
}

// Fetch with a version and ListVersions (fields and a method Memo added to memo.kvs): the node keeps the last
// VERSIONS versions of a key; older ones answer NOT_FOUND. One value is over the 4 KiB inline limit, so a kept
// version whose value lives in its own block is read too. Versions are uint64, so proto-loader gives strings.
async function versionChecks() {
  const key = `${run}/versioned`;
  const writes = VERSIONS + 2;
  const values = Array.from({ length: writes }, (_, i) =>
    i === writes - 2 ? crypto.randomBytes(5000) : Buffer.from(`version ${i + 1} of the key`, 'utf8'));
  const kept = Array.from({ length: VERSIONS }, (_, i) => writes - i); // newest first

  await check('kvs.versions.setup-writes', async () => {
    for (const value of values) {
      await expectOk(kvs, 'Upsert', { key, value });
    }
  });
  await check('kvs.versions.list-newest-first', async () => {
    const res = await expectOk(kvs, 'ListVersions', { key });
    const listed = res.versions.map((v) => Number(v.version));
    assert(sameList(listed, kept), `ListVersions gave [${listed}], expected [${kept}]`);
  }, ['kvs.versions.setup-writes']);
  await check('kvs.versions.fetch-current-names-its-version', async () => {
    const res = await expectOk(kvs, 'Fetch', { key });
    assert(sameBytes(res.value, values[writes - 1]), `current value ${hex(res.value)}`);
    assert(res.version === String(writes), `Fetch answered version ${res.version}, expected ${writes}`);
  }, ['kvs.versions.setup-writes']);
  await check('kvs.versions.fetch-each-kept-version', async () => {
    for (const version of kept) {
      const res = await expectOk(kvs, 'Fetch', { key, version: String(version) });
      assert(sameBytes(res.value, values[version - 1]), `version ${version}: value ${hex(res.value)}, expected ${hex(values[version - 1])}`);
      assert(res.version === String(version), `Fetch of version ${version} answered version ${res.version}`);
    }
  }, ['kvs.versions.setup-writes']);
  await check('kvs.versions.pruned-version-is-not-found', async () => {
    await expectStatus(kvs, 'Fetch', { key, version: '1' }, grpc.status.NOT_FOUND);
    await expectStatus(kvs, 'Fetch', { key, version: String(writes - VERSIONS) }, grpc.status.NOT_FOUND);
  }, ['kvs.versions.setup-writes']);
  await check('kvs.versions.future-version-is-not-found', async () => {
    await expectStatus(kvs, 'Fetch', { key, version: String(writes + 1) }, grpc.status.NOT_FOUND);
  }, ['kvs.versions.setup-writes']);
  await check('kvs.versions.list-missing-key-is-not-found', async () => {
    await expectStatus(kvs, 'ListVersions', { key: `${run}/never-written` }, grpc.status.NOT_FOUND);
  });
  await check('kvs.versions.list-empty-key-is-invalid-argument', async () => {
    await expectStatus(kvs, 'ListVersions', { key: '' }, grpc.status.INVALID_ARGUMENT);
  });
  await check('kvs.versions.delete-removes-every-version', async () => {
    await expectOk(kvs, 'Delete', { key });
    await expectStatus(kvs, 'ListVersions', { key }, grpc.status.NOT_FOUND);
    await expectStatus(kvs, 'Fetch', { key, version: String(writes) }, grpc.status.NOT_FOUND);
  }, ['kvs.versions.setup-writes']);
}

async function listChecks() {
  // Unpadded numbers, so byte order (k0, k1, k10, k100, k101, ...) differs from insertion and numeric order.
  const listPrefix = `${run}/list/`;
  const keys = Array.from({ length: LIST_KEYS }, (_, i) => `${listPrefix}k${i}`);
  const sorted = [...keys].sort(byteOrder);

  await check('kvs.list.setup-1000-keys', async () => {
    // A fixed permutation (7919 is coprime with 1000), so inserts do not arrive in byte order.
    const shuffled = keys.map((_, i) => keys[(i * 7919) % LIST_KEYS]);
    const failures = [];
    await inParallel(shuffled, LIST_CONCURRENCY, async (k) => {
      const { err } = await call(kvs, 'Insert', { key: k, value: Buffer.from(k, 'utf8') });
      if (err) failures.push(`${k}: ${describeCode(err.code)} ${err.details}`);
    });
    assert(failures.length === 0, `${failures.length} inserts failed, first: ${failures[0]}`);
  });
  const needsKeys = ['kvs.list.setup-1000-keys'];

  await check('kvs.list.prefix-returns-all-in-byte-order', async () => {
    const res = await expectOk(kvs, 'List', { prefix: listPrefix, marker: '', delimiter: '', maxKeys: '1000' });
    const got = res.items.map((i) => i.key);
    assert(sameList(got, sorted), `items differ from the 1000 keys in byte order, first difference ${firstDifference(got, sorted)}`);
    assert(res.truncated === false, 'truncated is true, expected false');
    assert(res.prefixes.length === 0, `prefixes ${JSON.stringify(res.prefixes)}, expected none without a delimiter`);
  }, needsKeys);

  await check('kvs.list.pages-of-100-with-marker', async () => {
    const pages = [];
    let marker = '';
    for (let page = 0; page < 20; page++) {
      const res = await expectOk(kvs, 'List', { prefix: listPrefix, marker, delimiter: '', maxKeys: '100' });
      const got = res.items.map((i) => i.key);
      pages.push({ keys: got, truncated: res.truncated });
      if (!res.truncated) break;
      assert(got.length > 0, `page ${page} is empty but truncated`);
      marker = got[got.length - 1];
    }
    assert(pages.length === 10, `got ${pages.length} pages, expected 10 (page sizes ${pages.map((p) => p.keys.length).join(',')})`);
    pages.forEach((p, i) => {
      assert(p.keys.length === 100, `page ${i} has ${p.keys.length} items, expected 100`);
      assert(p.truncated === (i < 9), `page ${i} truncated ${p.truncated}, expected ${i < 9}`);
    });
    const all = pages.flatMap((p) => p.keys);
    assert(new Set(all).size === all.length, 'a key was listed on two pages');
    assert(sameList(all, sorted), `pages joined differ from the keys in byte order, first difference ${firstDifference(all, sorted)}`);
  }, needsKeys);

  await check('kvs.list.max-keys-below-result-is-truncated', async () => {
    const res = await expectOk(kvs, 'List', { prefix: listPrefix, marker: '', delimiter: '', maxKeys: '10' });
    const got = res.items.map((i) => i.key);
    assert(res.truncated === true, 'truncated is false, expected true');
    assert(sameList(got, sorted.slice(0, 10)), `items differ from the first 10 keys, first difference ${firstDifference(got, sorted.slice(0, 10))}`);
  }, needsKeys);

  // UTF-8 byte order, not UTF-16 (string.CompareOrdinal) order: the two disagree on supplementary characters.
  // U+FF21 (EF BC A1) sorts before U+1F600 (F0 9F 98 80) in bytes, after it in UTF-16 (FF21 > D83D).
  const utf8Prefix = `${run}/utf8/`;
  const utf8Keys = ['a', 'Z', '\u00e9', '\uff21', '\u{1f600}', '\u0800', '\u{10000}'].map((s) => utf8Prefix + s);
  await check('kvs.list.non-ascii-keys-in-utf8-byte-order', async () => {
    await inParallel(utf8Keys, LIST_CONCURRENCY, async (k) => {
      await expectOk(kvs, 'Insert', { key: k, value: Buffer.from('u') });
    });
    const res = await expectOk(kvs, 'List', { prefix: utf8Prefix, marker: '', delimiter: '', maxKeys: '100' });
    const got = res.items.map((i) => i.key);
    const expected = [...utf8Keys].sort(byteOrder);
    assert(sameList(got, expected), `items ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
    const fetched = await expectOk(kvs, 'Fetch', { key: utf8Keys[4] });
    assert(sameBytes(fetched.value, Buffer.from('u')), 'a key with a supplementary character did not round-trip');
  });

  // Delimiter: <tree>/dir<k>/file<j> roll up into one prefix per directory; <tree>/top<j> are items.
  const tree = `${run}/tree`;
  const dirs = 5;
  const filesPerDir = 3;
  const tops = 4;
  const treeKeys = [];
  for (let k = 0; k < dirs; k++) for (let j = 0; j < filesPerDir; j++) treeKeys.push(`${tree}/dir${k}/file${j}`);
  for (let j = 0; j < tops; j++) treeKeys.push(`${tree}/top${j}`);
  await check('kvs.list.delimiter-rolls-up-directories', async () => {
    await inParallel(treeKeys, LIST_CONCURRENCY, async (k) => {
      await expectOk(kvs, 'Insert', { key: k, value: Buffer.from('x') });
    });
    const res = await expectOk(kvs, 'List', { prefix: `${tree}/`, marker: '', delimiter: '/', maxKeys: '1000' });
    const expectedPrefixes = Array.from({ length: dirs }, (_, k) => `${tree}/dir${k}/`).sort(byteOrder);
    const expectedItems = Array.from({ length: tops }, (_, j) => `${tree}/top${j}`).sort(byteOrder);
    const gotItems = res.items.map((i) => i.key);
    assert(sameList(res.prefixes, expectedPrefixes), `prefixes ${JSON.stringify(res.prefixes)}, expected ${JSON.stringify(expectedPrefixes)}`);
    assert(sameList(gotItems, expectedItems), `items ${JSON.stringify(gotItems)}, expected ${JSON.stringify(expectedItems)}`);
    assert(res.truncated === false, 'truncated is true, expected false');
  });
}

// ---------------------------------------------------------------------------------------------------
// memo.vs

async function vsChecks() {
  const immutableData = Buffer.from(`immutable ${run} \u00e9\u00e8`, 'utf8');
  const mutableData = Buffer.from(`mutable ${run} v0`, 'utf8');
  const mutableData1 = Buffer.from(`mutable ${run} v1`, 'utf8');
  const mutableData2 = Buffer.from(`mutable ${run} v1 by a writer that lost the race`, 'utf8');
  let chbAddress;
  let okbAddress;

  await check('vs.insert-immutable.returns-immutable-address', async () => {
    const res = await expectOk(vs, 'InsertImmutableBlock', { data: immutableData });
    chbAddress = res.address;
    assert(Buffer.isBuffer(chbAddress) && chbAddress.length === 32, `address ${hex(chbAddress)} is not 32 bytes`);
    assert((chbAddress[31] & 1) === 1, `address ${hex(chbAddress)} has the mutable flag (low bit 0), expected immutable`);
  });
  await check('vs.fetch-immutable.is-chb-with-data', async () => {
    const res = await expectOk(vs, 'Fetch', { address: chbAddress });
    assert(res.block, 'response has no block');
    assert(res.block.type === 'CHB', `type ${JSON.stringify(res.block.type)}, expected "CHB"`);
    assert(sameBytes(res.block.data, immutableData), `data ${hex(res.block.data)}, expected ${hex(immutableData)}`);
    assert(sameBytes(res.block.address, chbAddress), `block address ${hex(res.block.address)}, expected ${hex(chbAddress)}`);
  }, ['vs.insert-immutable.returns-immutable-address']);
  await check('vs.fetch.random-address-is-not-found', async () => {
    await expectStatus(vs, 'Fetch', { address: randomAddress(false) }, grpc.status.NOT_FOUND);
    await expectStatus(vs, 'Fetch', { address: randomAddress(true) }, grpc.status.NOT_FOUND);
  });

  await check('vs.insert-mutable.returns-mutable-address', async () => {
    const res = await expectOk(vs, 'InsertMutableBlock', { data: mutableData });
    okbAddress = res.address;
    assert(Buffer.isBuffer(okbAddress) && okbAddress.length === 32, `address ${hex(okbAddress)} is not 32 bytes`);
    assert((okbAddress[31] & 1) === 0, `address ${hex(okbAddress)} has the immutable flag (low bit 1), expected mutable`);
  });
  await check('vs.fetch-mutable.is-okb-version-0', async () => {
    const res = await expectOk(vs, 'Fetch', { address: okbAddress });
    assert(res.block, 'response has no block');
    assert(res.block.type === 'OKB', `type ${JSON.stringify(res.block.type)}, expected "OKB"`);
    assert(res.block.version === '0', `version ${res.block.version}, expected 0`);
    assert(sameBytes(res.block.data, mutableData), `data ${hex(res.block.data)}, expected ${hex(mutableData)}`);
  }, ['vs.insert-mutable.returns-mutable-address']);

  await check('vs.update.version-1-is-stored', async () => {
    const fetched = (await expectOk(vs, 'Fetch', { address: okbAddress })).block;
    const next = { ...withData(fetched, mutableData1), version: '1', signature: Buffer.alloc(0) };
    const res = await expectOk(vs, 'Update', { block: next });
    assert(res.current == null, `response carries current (version ${res.current && res.current.version}), expected no conflict`);
    const after = (await expectOk(vs, 'Fetch', { address: okbAddress })).block;
    assert(after.version === '1', `after Update, version ${after.version}, expected 1`);
    assert(sameBytes(after.data, mutableData1), `after Update, data ${hex(after.data)}, expected ${hex(mutableData1)}`);
    assert(after.signature.length > 0, 'after Update, the stored block has no signature');
  }, ['vs.fetch-mutable.is-okb-version-0']);
  await check('vs.update.stale-version-returns-current', async () => {
    const fetched = (await expectOk(vs, 'Fetch', { address: okbAddress })).block;
    const stale = { ...withData(fetched, mutableData2), version: '1', signature: Buffer.alloc(0) };
    const res = await expectOk(vs, 'Update', { block: stale });
    assert(res.current != null, 'response has no current block, expected the conflict answer');
    assert(res.current.version === '1', `current version ${res.current.version}, expected 1`);
    assert(sameBytes(res.current.data, mutableData1), `current data ${hex(res.current.data)}, expected the stored ${hex(mutableData1)}`);
    const after = (await expectOk(vs, 'Fetch', { address: okbAddress })).block;
    assert(sameBytes(after.data, mutableData1), `the stale update changed the stored data to ${hex(after.data)}`);
  }, ['vs.update.version-1-is-stored']);

  // Kept versions of a mutable block (memo.vs Fetch with has_version, ListVersions): versions 0 and 1 are stored and
  // the node keeps VERSIONS of them.
  await check('vs.versions.list-newest-first', async () => {
    const res = await expectOk(vs, 'ListVersions', { address: okbAddress });
    const listed = res.versions.map(Number);
    const expected = [1, 0].slice(0, VERSIONS);
    assert(sameList(listed, expected), `ListVersions gave [${listed}], expected [${expected}]`);
  }, ['vs.update.version-1-is-stored']);
  await check('vs.versions.fetch-each-kept-version', async () => {
    const current = (await expectOk(vs, 'Fetch', { address: okbAddress, version: '1', has_version: true })).block;
    assert(current.version === '1' && sameBytes(current.data, mutableData1), `version 1: version ${current.version}, data ${hex(current.data)}`);
    if (VERSIONS > 1) {
      const older = (await expectOk(vs, 'Fetch', { address: okbAddress, version: '0', has_version: true })).block;
      assert(older.version === '0' && sameBytes(older.data, mutableData), `version 0: version ${older.version}, data ${hex(older.data)}`);
      assert(older.signature.length > 0, 'the kept version 0 has no signature');
    } else {
      await expectStatus(vs, 'Fetch', { address: okbAddress, version: '0', has_version: true }, grpc.status.NOT_FOUND);
    }
    await expectStatus(vs, 'Fetch', { address: okbAddress, version: '7', has_version: true }, grpc.status.NOT_FOUND);
  }, ['vs.update.version-1-is-stored']);
  await check('vs.versions.of-an-immutable-block-is-invalid-argument', async () => {
    await expectStatus(vs, 'ListVersions', { address: chbAddress }, grpc.status.INVALID_ARGUMENT);
  }, ['vs.fetch-immutable.is-chb-with-data']);

  await check('vs.insert.chb-with-wrong-data-is-permission-denied', async () => {
    const fetched = (await expectOk(vs, 'Fetch', { address: chbAddress })).block;
    const forged = withData(fetched, Buffer.concat([immutableData, Buffer.from('!')]));
    await expectStatus(vs, 'Insert', { block: forged }, grpc.status.PERMISSION_DENIED);
  }, ['vs.fetch-immutable.is-chb-with-data']);
  await check('vs.update.okb-with-corrupt-signature-is-permission-denied', async () => {
    const fetched = (await expectOk(vs, 'Fetch', { address: okbAddress })).block;
    assert(fetched.signature.length > 0, 'the fetched block has no signature to corrupt');
    const signature = Buffer.from(fetched.signature);
    signature[Math.floor(signature.length / 2)] ^= 0x01;
    const version = String(BigInt(fetched.version) + 1n);
    const forged = { ...withData(fetched, fetched.data), version, signature };
    await expectStatus(vs, 'Update', { block: forged }, grpc.status.PERMISSION_DENIED);
    const after = (await expectOk(vs, 'Fetch', { address: okbAddress })).block;
    assert(after.version === fetched.version, `the forged update changed the version to ${after.version}`);
  }, ['vs.update.version-1-is-stored']);
  await check('vs.fetch.5-byte-address-is-invalid-argument', async () => {
    await expectStatus(vs, 'Fetch', { address: Buffer.from([1, 2, 3, 4, 5]) }, grpc.status.INVALID_ARGUMENT);
  });
  await check('vs.delete.mutable-then-fetch-is-not-found', async () => {
    await expectOk(vs, 'Delete', { address: okbAddress, signature: Buffer.alloc(0) });
    await expectStatus(vs, 'Fetch', { address: okbAddress }, grpc.status.NOT_FOUND);
  }, ['vs.insert-mutable.returns-mutable-address']);

  await check('vs.make-mutable.returns-unsigned-okb', async () => {
    const block = await expectOk(vs, 'MakeMutableBlock', {});
    assert(block.type === 'OKB', `type ${JSON.stringify(block.type)}, expected "OKB"`);
    assert(Buffer.isBuffer(block.address) && block.address.length === 32, `address ${hex(block.address)} is not 32 bytes`);
    assert((block.address[31] & 1) === 0, `address ${hex(block.address)} has the immutable flag, expected mutable`);
    assert(block.signature.length === 0, `signature ${hex(block.signature)}, expected none (made, not stored)`);
  });
  await check('vs.named-address.is-deterministic', async () => {
    const a = await expectOk(vs, 'NamedBlockAddress', { key: Buffer.from('x') });
    const b = await expectOk(vs, 'NamedBlockAddress', { key: Buffer.from('x') });
    assert(Buffer.isBuffer(a.address) && a.address.length === 32, `address ${hex(a.address)} is not 32 bytes`);
    assert(sameBytes(b.address, a.address), `two calls gave ${hex(a.address)} and ${hex(b.address)}`);
    const other = await expectOk(vs, 'NamedBlockAddress', { key: Buffer.from('y') });
    assert(!sameBytes(other.address, a.address), `names "x" and "y" have the same address ${hex(a.address)}`);
  });
}

// ---------------------------------------------------------------------------------------------------
// Protocol edges

async function protocolChecks() {
  await check('grpc.unknown-method-is-unimplemented', async () => {
    const client = new grpc.Client(target, credentials);
    try {
      const err = await new Promise((resolve) => {
        client.makeUnaryRequest(
          '/memo.kvs.KeyValueStore/Nope',
          (buffer) => buffer,
          (buffer) => buffer,
          Buffer.alloc(0),
          { deadline: new Date(Date.now() + CALL_TIMEOUT_MS) },
          (e) => resolve(e));
      });
      assert(err, 'expected UNIMPLEMENTED (12), got OK');
      assert(err.code === grpc.status.UNIMPLEMENTED, `expected UNIMPLEMENTED (12), got ${describeCode(err.code)}: ${err.details}`);
    } finally {
      client.close();
    }
  });
  await check('grpc.deadline-in-the-past-is-deadline-exceeded', async () => {
    await expectStatus(kvs, 'Fetch', { key: `${run}/deadline` }, grpc.status.DEADLINE_EXCEEDED, new Date(Date.now() - 1000));
  });
  await check('grpc.health.check-is-serving', async () => {
    const health = new standard.grpc.health.v1.Health(target, credentials);
    try {
      for (const service of ['', 'memo.kvs.KeyValueStore', 'memo.vs.ValueStore']) {
        const { err, res } = await call(health, 'Check', { service });
        if (err) fail(`Health.Check("${service}"): ${describeCode(err.code)}: ${err.details}`);
        assert(res.status === 'SERVING', `Health.Check("${service}"): expected SERVING, got ${res.status}`);
      }
    } finally {
      health.close();
    }
  });
  await check('grpc.reflection.lists-memo-services', async () => {
    const reflection = new standard.grpc.reflection.v1alpha.ServerReflection(target, credentials);
    try {
      const names = await new Promise((resolve, reject) => {
        const stream = reflection.ServerReflectionInfo({ deadline: new Date(Date.now() + CALL_TIMEOUT_MS) });
        stream.on('data', (response) => {
          if (response.list_services_response) {
            resolve(response.list_services_response.service.map((s) => s.name));
          } else {
            reject(new CheckFailure(`unexpected reflection answer ${JSON.stringify(response)}`));
          }
          stream.end();
        });
        stream.on('error', (e) => reject(new CheckFailure(`reflection: ${describeCode(e.code)}: ${e.details}`)));
        stream.write({ host: '', list_services: '' });
      });
      for (const expected of ['memo.kvs.KeyValueStore', 'memo.vs.ValueStore', 'grpc.health.v1.Health']) {
        assert(names.includes(expected), `reflection lists ${JSON.stringify(names)}, not ${expected}`);
      }
    } finally {
      reflection.close();
    }
  });
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const overall = setTimeout(() => {
    failed++;
    console.log(`FAIL overall: the run did not finish within ${OVERALL_TIMEOUT_MS / 1000} s`);
    summary();
    process.exit(1);
  }, OVERALL_TIMEOUT_MS);
  overall.unref();

  console.log(`interop: target ${target} (${caFile ? 'TLS, trusting ' + caFile : 'cleartext h2c'}), run prefix ${run}, grpc-js ${require('@grpc/grpc-js/package.json').version}`);
  await check('connect', async () => {
    await new Promise((resolve, reject) => {
      kvs.waitForReady(new Date(Date.now() + 15_000), (e) => (e ? reject(new CheckFailure(`cannot reach ${target}: ${e.message}`)) : resolve()));
    });
  });
  if (failedChecks.has('connect')) {
    summary();
    process.exit(1);
  }

  await kvsChecks();
  await vsChecks();
  await protocolChecks();

  kvs.close();
  vs.close();
  clearTimeout(overall);
  summary();
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

main().catch((e) => {
  console.log(`FAIL runner: ${e && e.stack ? e.stack : e}`);
  failed++;
  summary();
  process.exit(1);
});
