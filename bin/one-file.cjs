// The entry of dist/nightshift.cjs, the console as one file for a machine
// with nothing but node on it (a bastion): scripts/build.mjs bundles this
// with dist/cli.cjs as text and the AWS SDK and ssh2 as two more.
//
// dist/cli.cjs runs as bin/nightshift.js runs it: through vm.Script with
// V8's code cache (see code-cache.js), kept under $XDG_CACHE_HOME/nightshift
// (~/.cache/nightshift): the copy of this file may sit anywhere, in a
// directory its user cannot write or would not want a second file in; with
// no writable cache directory it starts without one. Its require() gives
// Node's built-ins, and the AWS SDK and ssh2 from this file, compiled only
// when a target first needs them: the simulated fleet never compiles either,
// and they cost the file's size on disk but not the start-up. Nothing is
// ever looked up in a node_modules: what the bastion happens to have
// installed cannot change what runs.
'use strict';

const { isBuiltin } = require('node:module');
const { Script } = require('node:vm');
const { gunzipSync } = require('node:zlib');
const { runBundle, userCachePath } = require('./code-cache.js');
const { prepareEnvironment } = require('./environment.js');
// Both made by scripts/build.mjs; each a function returning its source,
// gzipped, in base64 (see scripts/one-file.mjs).
const cli = require('nightshift:cli');
const payloads = require('nightshift:payloads');

/** The text of a packed source: ASCII (the build escapes the rest), so latin1 gives V8 a one-byte string. */
const unpack = (packed) => gunzipSync(Buffer.from(packed(), 'base64')).toString('latin1');

/** Which payload holds a module the console requires by name, if any. */
function payloadOf(id) {
  if (id === 'ssh2') return 'ssh2';
  if (id.startsWith('@aws-sdk/')) return 'aws';
  return undefined;
}

const loaded = new Map();

/** A payload's exports: the ssh2 module, or the AWS SDK clients by package name. */
function loadPayload(name) {
  let exports = loaded.get(name);
  if (exports) return exports;
  const module = { exports: {} };
  const source = unpack(payloads[name]);
  new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: `${__filename} (${name})` })
    .runInThisContext()(module.exports, builtinsOnly(name), module, __filename, __dirname);
  exports = module.exports;
  loaded.set(name, exports);
  return exports;
}

function notInThisFile(id, from) {
  const err = new Error(`${__filename}: ${from} requires "${id}", which is not in this file (it carries the AWS SDK, ssh2 and Node's built-ins only); rebuild it with \`npm run build\``);
  err.code = 'MODULE_NOT_FOUND';
  return err;
}

function builtinsOnly(from) {
  return (id) => {
    if (isBuiltin(id)) return require(id);
    throw notInThisFile(id, from);
  };
}

function consoleRequire(id) {
  if (isBuiltin(id)) return require(id);
  const name = payloadOf(id);
  if (name === undefined) throw notInThisFile(id, 'the console');
  const exports = loadPayload(name);
  if (name === 'ssh2') return exports;
  if (!(id in exports)) throw notInThisFile(id, 'the console');
  return exports[id];
}

/** Runs the console (or a command) with `argv`, as bin/nightshift.js does. */
async function run(argv) {
  // A bastion's own node may be older than the console's code (built for Node 20): say so, rather than fail on its syntax.
  if (Number(process.versions.node.split('.')[0]) < 20) {
    process.stderr.write(`nightshift: ${__filename} needs Node 20 or newer; ${process.execPath} is v${process.versions.node}. Run it with a newer node: /path/to/node ${__filename}\n`);
    process.exitCode = 2;
    return;
  }
  prepareEnvironment();
  const { main } = runBundle(unpack(cli), {
    file: __filename,
    filename: `${__filename} (cli.cjs)`,
    places: [userCachePath(__filename)],
    require: consoleRequire,
  });
  await main(argv);
}

module.exports = { run };

// Run as a program (`node nightshift.cjs`, or `./nightshift.cjs` by its #! line);
// bin/nightshift.js requires it and calls run(). (The bundle wraps this file,
// so `module` here is not the one Node made; its filename is the same.)
if (require.main !== undefined && require.main.filename === __filename) void run(process.argv.slice(2));
