#!/usr/bin/env node
// The authenticated path of the interop check: Node's @grpc/grpc-js calls a node of a network with an owner, signing
// each call with the user's P-256 key through Node's own crypto (no Memo code): the passport in `memo-passport-bin`,
// a CallToken in `memo-call-bin` whose signature covers "memo/call/1" 0x00 || u16be(len method) || method ||
// i64be(time ms) || nonce || SHA-256(summary) (docs/security.md, "Authenticated clients").
//
// Usage: node signed.js <host:port> <user.key (PKCS#8 PEM)> <user.passport (protobuf)>
// The passport must grant read and write. Prints "ok <name>" / "FAIL <name>: <why>" per check, then
// "interop: N passed, M failed"; exit code 0 only when every check passed.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [target, keyFile, passportFile] = process.argv.slice(2);
if (!target || !keyFile || !passportFile) {
  console.error('usage: node signed.js <host:port> <user.key> <user.passport>');
  process.exit(2);
}
const privateKey = crypto.createPrivateKey(fs.readFileSync(keyFile));
const passport = fs.readFileSync(passportFile);
const definition = protoLoader.loadSync(['memo_kvs.proto'], {
  keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true,
  includeDirs: [path.join(__dirname, '..', '..', 'Memo.Protocol', 'Protos')],
});
const kvs = new (grpc.loadPackageDefinition(definition).memo.kvs.KeyValueStore)(target, grpc.credentials.createInsecure());

const sha256 = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest();
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const varint = (n) => { const out = []; let v = BigInt(n); do { let byte = Number(v & 0x7fn); v >>= 7n; if (v) byte |= 0x80; out.push(byte); } while (v); return Buffer.from(out); };
const field = (number, bytes) => Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);

// The summary a node rebuilds: key and value digest for writes; the request's protobuf bytes for anything else.
const keyed = (key, valueDigest) => { const k = Buffer.from(key, 'utf8'); return sha256(u32(k.length), k, valueDigest); };
const fetchBytes = (key) => field(1, Buffer.from(key, 'utf8')); // FetchRequest{key}; version 0 is not sent

function token(method, summaryDigest, timeMs = Date.now()) {
  const nonce = crypto.randomBytes(16);
  const m = Buffer.from(method, 'utf8');
  const header = Buffer.alloc(2); header.writeUInt16BE(m.length);
  const time = Buffer.alloc(8); time.writeBigInt64BE(BigInt(timeMs));
  const statement = Buffer.concat([Buffer.from('memo/call/1\0', 'utf8'), header, m, time, nonce, summaryDigest]);
  const signature = crypto.sign('sha256', statement, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  // CallToken{issued_unix_ms = 1 (varint), nonce = 2, signature = 3}
  return Buffer.concat([varint(1 << 3), varint(timeMs), field(2, nonce), field(3, signature)]);
}

function metadata(callToken) {
  const md = new grpc.Metadata();
  md.add('memo-passport-bin', passport);
  md.add('memo-call-bin', callToken);
  return md;
}

const call = (method, request, md) => new Promise((resolve) =>
  kvs[method](request, md ?? new grpc.Metadata(), { deadline: new Date(Date.now() + 30_000) }, (err, res) => resolve({ err, res })));

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try { await fn(); passed++; console.log(`ok ${name}`); } catch (e) { failed++; console.log(`FAIL ${name}: ${e.message}`); }
}
const expectCode = (err, code, what) => {
  if (!err) throw new Error(`${what}: expected ${code}, got OK`);
  if (err.code !== code) throw new Error(`${what}: expected ${code}, got ${err.code}: ${err.details}`);
};

(async () => {
  const key = `signed-${crypto.randomBytes(4).toString('hex')}`;
  const value = Buffer.from('from grpc-js, signed');
  await check('signed Upsert is accepted', async () => {
    const { err } = await call('Upsert', { key, value }, metadata(token('/memo.kvs.KeyValueStore/Upsert', keyed(key, sha256(value)))));
    if (err) throw new Error(`Upsert: ${err.code}: ${err.details}`);
  });
  await check('signed Fetch reads the value', async () => {
    const { err, res } = await call('Fetch', { key }, metadata(token('/memo.kvs.KeyValueStore/Fetch', sha256(fetchBytes(key)))));
    if (err) throw new Error(`Fetch: ${err.code}: ${err.details}`);
    if (!res.value.equals(value)) throw new Error(`Fetch returned '${res.value}'`);
  });
  await check('Fetch without credentials is UNAUTHENTICATED', async () => {
    const { err } = await call('Fetch', { key });
    expectCode(err, grpc.status.UNAUTHENTICATED, 'anonymous Fetch');
  });
  await check('a replayed token is UNAUTHENTICATED', async () => {
    const md = metadata(token('/memo.kvs.KeyValueStore/Fetch', sha256(fetchBytes(key))));
    const first = await call('Fetch', { key }, md);
    if (first.err) throw new Error(`first Fetch: ${first.err.code}: ${first.err.details}`);
    expectCode((await call('Fetch', { key }, md)).err, grpc.status.UNAUTHENTICATED, 'replayed Fetch');
  });
  await check('a token signed over another value is UNAUTHENTICATED', async () => {
    const md = metadata(token('/memo.kvs.KeyValueStore/Upsert', keyed(key, sha256(Buffer.from('what was signed')))));
    expectCode((await call('Upsert', { key, value: Buffer.from('what is sent') }, md)).err, grpc.status.UNAUTHENTICATED, 'Upsert of another value');
  });
  await check('a token ten minutes old is UNAUTHENTICATED', async () => {
    const md = metadata(token('/memo.kvs.KeyValueStore/Fetch', sha256(fetchBytes(key)), Date.now() - 600_000));
    expectCode((await call('Fetch', { key }, md)).err, grpc.status.UNAUTHENTICATED, 'stale Fetch');
  });
  console.log(`interop: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
