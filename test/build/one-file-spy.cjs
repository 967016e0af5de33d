// Preloaded (`node -r`) into a run of dist/nightshift.cjs by
// test/build/one-file.test.ts: records what the process compiled, loaded
// and computed that a test cannot see from outside, and prints it as one
// JSON line on stderr at exit ("one-file-spy {...}").
//   scripts: the filenames of the code the single file compiled with vm.Script (its cli.cjs, and its AWS SDK or ssh2 only when a target needed them)
//   resolved: every module name that was not Node's own, resolved through Node's module loader (the file itself, and anything from outside it)
//   dlopen: native add-ons loaded
//   keyPairs: types of key pairs generated (x25519: curve25519 key exchange)
//   verified: key types of signatures verified (ed25519: the host key's signature)
//   ciphers: ciphers made
'use strict';
const crypto = require('node:crypto');
const Module = require('node:module');
const vm = require('node:vm');

const seen = { scripts: [], resolved: [], dlopen: [], keyPairs: [], verified: [], ciphers: [] };

const Script = vm.Script;
vm.Script = class extends Script {
  constructor(code, options) {
    super(code, options);
    seen.scripts.push(typeof options === 'string' ? options : options?.filename);
  }
};

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (!Module.isBuiltin(request)) seen.resolved.push(request);
  return resolveFilename.call(this, request, ...rest);
};

const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...rest) {
  seen.dlopen.push(filename);
  return dlopen.call(this, module, filename, ...rest);
};

const generateKeyPairSync = crypto.generateKeyPairSync;
crypto.generateKeyPairSync = function (type, ...rest) {
  seen.keyPairs.push(type);
  return generateKeyPairSync.call(this, type, ...rest);
};

const verify = crypto.verify;
crypto.verify = function (algorithm, data, key, ...rest) {
  let type;
  try {
    type = (key instanceof crypto.KeyObject ? key : crypto.createPublicKey(key)).asymmetricKeyType;
  } catch {
    type = 'unknown';
  }
  seen.verified.push(type);
  return verify.call(this, algorithm, data, key, ...rest);
};

for (const name of ['createCipheriv', 'createDecipheriv']) {
  const original = crypto[name];
  crypto[name] = function (algorithm, ...rest) {
    seen.ciphers.push(algorithm);
    return original.call(this, algorithm, ...rest);
  };
}

process.on('exit', () => {
  for (const key of ['keyPairs', 'verified', 'ciphers']) seen[key] = [...new Set(seen[key])];
  process.stderr.write(`one-file-spy ${JSON.stringify(seen)}\n`);
});
