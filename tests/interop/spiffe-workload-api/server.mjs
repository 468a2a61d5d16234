// A SPIFFE Workload API server built on a gRPC stack SecureComms did not write (@grpc/grpc-js + @grpc/proto-loader),
// serving SecureComms' own workload.proto on a Unix socket. Test-only: it mints nothing. The test gives it the
// material to serve (DER certificates, PKCS#8 keys, JWKS, JWT strings) and drives it through a control channel:
// newline-delimited JSON commands on stdin, one JSON acknowledgement line per command on stdout.
//
//   node server.mjs unix:///tmp/sc-xxxx.sock [--proto path/to/workload.proto]
//
// Commands (every acknowledgement echoes "op" and, when given, "id"; failures carry "ok": false and "error"):
//   {"op":"set-svid","spiffeId":"spiffe://example.org/orders","certs":b64,"key":b64,"bundle":b64,"hint":"..."}
//       replaces the SVID list with this one SVID (certs: leaf then intermediates, DER concatenated; key: PKCS#8 DER;
//       bundle: the own trust domain's CA certificates, DER concatenated) and pushes it to every open stream.
//   {"op":"set-svids","svids":[{...same fields...}, ...]}            several SVIDs, the first one the default.
//   {"op":"add-federated","trustDomain":"spiffe://partner.test","bundle":b64}   adds or replaces a federated bundle.
//   {"op":"remove-federated","trustDomain":"spiffe://partner.test"}
//   {"op":"set-jwt-bundle","trustDomain":"spiffe://example.org","jwks":{...} | "json text"}
//   {"op":"set-jwt-svid","audience":["a"],"spiffeId":"...","token":"eyJ...","hint":"..."}   served by FetchJWTSVID.
//   {"op":"kill-streams"}   ends every open stream with UNAVAILABLE (what clients see when an agent restarts).
//   {"op":"stop"} / {"op":"start"}   unbinds the socket (open streams end with UNAVAILABLE) / binds it again.
//   {"op":"deny"} / {"op":"allow"}   every call (and every open stream) fails with PERMISSION_DENIED / back to normal.
//   {"op":"stats"}   calls by method, calls rejected for a missing security header, open streams, pushes.
// Prints {"ready":true,"socket":"unix:///..."} once listening. Exits when stdin closes.

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

// SPIFFE Workload API §5.1 (SPIFFE Workload Endpoint §6.2): a call without this metadata is refused.
const SECURITY_HEADER = 'workload.spiffe.io';

const args = process.argv.slice(2);
let socketArg;
let protoPath;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--proto') {
    protoPath = args[++i];
  } else if (!socketArg) {
    socketArg = args[i];
  } else {
    fail(`unexpected argument: ${args[i]}`);
  }
}
if (!socketArg) {
  fail('usage: node server.mjs unix:///path/to/agent.sock [--proto path/to/workload.proto]');
}
const socketPath = socketArg.startsWith('unix://') ? socketArg.slice('unix://'.length) : socketArg;
if (!path.isAbsolute(socketPath)) {
  fail(`the socket path must be absolute: ${socketArg}`);
}
const address = `unix://${socketPath}`;
protoPath ??= path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/SecureComms/WorkloadApi/workload.proto');

const definition = protoLoader.loadSync(protoPath, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const service = grpc.loadPackageDefinition(definition).SpiffeWorkloadAPI.service;

// What the server serves: given by the test, never minted here.
let svids = [];
const federated = new Map(); // trust domain SPIFFE ID -> DER bundle
const jwtBundles = new Map(); // trust domain SPIFFE ID -> JWKS JSON bytes
const jwtSvids = []; // { audience: string[], spiffe_id, svid, hint }
let denied = false;

// Open server streams by method, so that changes are pushed and streams can be killed.
const streams = { FetchX509SVID: new Set(), FetchX509Bundles: new Set(), FetchJWTBundles: new Set() };
const stats = {
  calls: { FetchX509SVID: 0, FetchX509Bundles: 0, FetchJWTSVID: 0, FetchJWTBundles: 0 },
  rejectedWithoutHeader: 0,
  deniedCalls: 0,
  pushes: { FetchX509SVID: 0, FetchX509Bundles: 0, FetchJWTBundles: 0 },
};

function trustDomainOf(spiffeId) {
  const match = /^spiffe:\/\/([^/]+)/.exec(spiffeId ?? '');
  return match ? `spiffe://${match[1]}` : undefined;
}

function x509SvidResponse() {
  return {
    svids,
    crl: [],
    federated_bundles: Object.fromEntries(federated),
  };
}

function x509BundlesResponse() {
  const bundles = {};
  for (const svid of svids) {
    const td = trustDomainOf(svid.spiffe_id);
    if (td && svid.bundle.length > 0 && !(td in bundles)) {
      bundles[td] = svid.bundle;
    }
  }
  for (const [td, bundle] of federated) {
    bundles[td] = bundle;
  }
  return { crl: [], bundles };
}

function jwtBundlesResponse() {
  return { bundles: Object.fromEntries(jwtBundles) };
}

const responders = {
  FetchX509SVID: () => (svids.length > 0 ? x509SvidResponse() : undefined),
  FetchX509Bundles: () => (svids.length > 0 || federated.size > 0 ? x509BundlesResponse() : undefined),
  FetchJWTBundles: () => (jwtBundles.size > 0 ? jwtBundlesResponse() : undefined),
};

// Returns false (after ending the call) when the call must not proceed: no security header, or identity denied.
function admit(method, call, reject) {
  stats.calls[method]++;
  const values = call.metadata.get(SECURITY_HEADER);
  if (values.length !== 1 || values[0] !== 'true') {
    // SPIRE answers exactly this.
    stats.rejectedWithoutHeader++;
    log(`${method}: rejected, security header missing`);
    reject({ code: grpc.status.INVALID_ARGUMENT, details: 'security header missing from request' });
    return false;
  }
  if (denied) {
    stats.deniedCalls++;
    reject({ code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' });
    return false;
  }
  return true;
}

function streaming(method) {
  return (call) => {
    if (!admit(method, call, (error) => endWith(call, error.code, error.details))) {
      return;
    }
    streams[method].add(call);
    const forget = () => streams[method].delete(call);
    call.on('cancelled', forget);
    call.on('close', forget);
    call.on('error', forget);
    // SPIRE answers at once when it has something; otherwise the stream waits for the first push.
    const response = responders[method]();
    if (response) {
      call.write(response);
      stats.pushes[method]++;
    }
  };
}

function push(method) {
  const response = responders[method]();
  if (!response) {
    return 0;
  }
  for (const call of streams[method]) {
    call.write(response);
    stats.pushes[method]++;
  }
  return streams[method].size;
}

// grpc-js turns an 'error' event on a server stream into the call's final status.
function endWith(call, code, details) {
  call.emit('error', Object.assign(new Error(details), { code, details }));
}

function endStreams(code, details) {
  let ended = 0;
  for (const method of Object.keys(streams)) {
    for (const call of streams[method]) {
      endWith(call, code, details);
      ended++;
    }
    streams[method].clear();
  }
  return ended;
}

const handlers = {
  FetchX509SVID: streaming('FetchX509SVID'),
  FetchX509Bundles: streaming('FetchX509Bundles'),
  FetchJWTBundles: streaming('FetchJWTBundles'),
  FetchJWTSVID: (call, callback) => {
    if (!admit('FetchJWTSVID', call, (error) => callback(error))) {
      return;
    }
    const audience = call.request.audience ?? [];
    if (audience.length === 0) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: 'audience must be specified' });
      return;
    }
    const matching = jwtSvids.filter(
      (s) =>
        audience.every((a) => s.audience.includes(a)) &&
        (!call.request.spiffe_id || call.request.spiffe_id === s.spiffe_id));
    if (matching.length === 0) {
      callback({ code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' });
      return;
    }
    callback(null, { svids: matching.map(({ spiffe_id, svid, hint }) => ({ spiffe_id, svid, hint })) });
  },
};

let server;

function bind() {
  return new Promise((resolve, reject) => {
    // A socket file left by a previous bind (or a crashed run) would make the bind fail.
    fs.rmSync(socketPath, { force: true });
    server = new grpc.Server();
    server.addService(service, handlers);
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve()));
  });
}

async function unbind() {
  // Open streams end as an agent's do when it goes away, then the listener and every connection are closed: gracefully
  // (so that the statuses reach the clients), by force after a second.
  const ended = endStreams(grpc.status.UNAVAILABLE, 'workload API server stopped');
  const stopping = server;
  server = undefined;
  if (stopping) {
    await new Promise((resolve) => {
      const force = setTimeout(() => {
        stopping.forceShutdown();
        resolve();
      }, 1000);
      stopping.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
  fs.rmSync(socketPath, { force: true });
  return ended;
}

function decode(b64, name) {
  if (typeof b64 !== 'string' || b64.length === 0) {
    throw new Error(`"${name}" (base64) is required`);
  }
  return Buffer.from(b64, 'base64');
}

function svidFrom(command) {
  if (typeof command.spiffeId !== 'string' || !command.spiffeId.startsWith('spiffe://')) {
    throw new Error('"spiffeId" (spiffe://...) is required');
  }
  return {
    spiffe_id: command.spiffeId,
    x509_svid: decode(command.certs, 'certs'),
    x509_svid_key: decode(command.key, 'key'),
    bundle: command.bundle ? Buffer.from(command.bundle, 'base64') : Buffer.alloc(0),
    hint: command.hint ?? '',
  };
}

function pushX509() {
  return { pushed: push('FetchX509SVID') + push('FetchX509Bundles') };
}

const commands = {
  'set-svid': (c) => {
    svids = [svidFrom(c)];
    return pushX509();
  },
  'set-svids': (c) => {
    if (!Array.isArray(c.svids) || c.svids.length === 0) {
      throw new Error('"svids" must be a non-empty array');
    }
    svids = c.svids.map(svidFrom);
    return pushX509();
  },
  'add-federated': (c) => {
    if (typeof c.trustDomain !== 'string' || c.trustDomain.length === 0) {
      throw new Error('"trustDomain" is required');
    }
    federated.set(c.trustDomain, decode(c.bundle, 'bundle'));
    return pushX509();
  },
  'remove-federated': (c) => {
    federated.delete(c.trustDomain);
    return pushX509();
  },
  'set-jwt-bundle': (c) => {
    if (typeof c.trustDomain !== 'string' || c.trustDomain.length === 0) {
      throw new Error('"trustDomain" is required');
    }
    const jwks = typeof c.jwks === 'string' ? c.jwks : JSON.stringify(c.jwks);
    jwtBundles.set(c.trustDomain, Buffer.from(jwks, 'utf8'));
    return { pushed: push('FetchJWTBundles') };
  },
  'set-jwt-svid': (c) => {
    const audience = Array.isArray(c.audience) ? c.audience : [c.audience];
    if (typeof c.token !== 'string' || !c.spiffeId || audience.length === 0) {
      throw new Error('"audience", "spiffeId" and "token" are required');
    }
    jwtSvids.push({ audience, spiffe_id: c.spiffeId, svid: c.token, hint: c.hint ?? '' });
    return {};
  },
  'kill-streams': () => ({ ended: endStreams(grpc.status.UNAVAILABLE, 'workload API server restarting') }),
  stop: async () => ({ ended: await unbind() }),
  start: async () => {
    if (server) {
      throw new Error('already listening');
    }
    await bind();
    return { socket: address };
  },
  deny: () => {
    denied = true;
    return { ended: endStreams(grpc.status.PERMISSION_DENIED, 'no identity issued') };
  },
  allow: () => {
    denied = false;
    return {};
  },
  stats: () => ({
    ...stats,
    openStreams: Object.fromEntries(Object.entries(streams).map(([m, s]) => [m, s.size])),
    listening: server !== undefined,
  }),
};

function reply(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function log(message) {
  process.stderr.write(`${message}\n`);
}

function fail(message) {
  log(message);
  process.exit(2);
}

// Commands run one at a time, in order, so that acknowledgements come back in the order the commands were sent.
let queue = Promise.resolve();
readline.createInterface({ input: process.stdin, terminal: false })
  .on('line', (line) => {
    if (line.trim().length === 0) {
      return;
    }
    queue = queue.then(async () => {
      let command;
      try {
        command = JSON.parse(line);
        const handler = commands[command.op];
        if (!handler) {
          throw new Error(`unknown op "${command.op}"`);
        }
        const result = await handler(command);
        reply({ ok: true, op: command.op, ...(command.id !== undefined ? { id: command.id } : {}), ...result });
      } catch (error) {
        reply({ ok: false, op: command?.op, ...(command?.id !== undefined ? { id: command.id } : {}), error: String(error?.message ?? error) });
      }
    });
  })
  .on('close', () => {
    queue.then(unbind).then(() => process.exit(0));
  });

try {
  await bind();
} catch (error) {
  fail(`cannot listen on ${address}: ${error.message}`);
}
reply({ ready: true, socket: address });
