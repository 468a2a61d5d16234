// Test-only RFC 8705 authorization server for SecureComms' interop tests: the real node-oidc-provider, on
// 127.0.0.1 only, issuing certificate-bound JWT access tokens through the client credentials grant. With
// "opaqueResource" in the config, tokens requested for that resource are opaque, and clients listed in
// "introspectors" may introspect them (RFC 7662, authenticating as at the token endpoint, e.g. tls_client_auth).
// Usage: node server.mjs <config.json>; prints "LISTENING <port>" once ready. A line "ROTATE" on stdin rotates the
// signing key (a new kid, published first in the JWKS with the old one after it, as the provider's docs describe a
// rotation) and prints "ROTATED <kid>" once new tokens are signed with it.
// End users (optional): with "users" ({ "alice": { "role": "buyer" } }) the provider's own development login and
// consent pages are on (devInteractions: any login name, any password), and a signed-in user's claims from that map
// go into the JWT access tokens of the authorization code flow (extraTokenClaims), for a public client with PKCE.
// "otherResources" lists more resource indicators issued as JWTs (an audience a token may be for instead).
// A line "LAG <seconds>" on stdin makes the access tokens signed from then on read as if the provider's clock were
// that many seconds behind (iat and exp moved back; 0 undoes it) and prints "LAGGING <seconds>".
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const newSigningKey = (kid) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
};
// The provider signs with the first key of its JWKS; a rotation puts a new key first and keeps the old one after it.
let signingKeys = [newSigningKey('interop-es256')];
const users = config.users;
const jwtResources = [config.resource, ...(config.otherResources ?? [])];
let tokenClockLag = 0;

const server = https.createServer({
  key: readFileSync(config.serverKeyPath),
  cert: readFileSync(config.serverCertPath),
  ca: readFileSync(config.caPath),
  requestCert: true,
  // The provider, not the handshake, decides per client (self-signed certificates must get through to be matched).
  rejectUnauthorized: false,
});

server.listen(config.port ?? 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `https://127.0.0.1:${port}`;
  const newProvider = () => new Provider(issuer, {
    clients: config.clients.map((c) => ({
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      id_token_signed_response_alg: 'ES256', // the only signing key is ES256
      tls_client_certificate_bound_access_tokens: true, // RFC 8705 §3.4: bind this client's tokens
      ...c,
    })),
    clientAuthMethods: ['tls_client_auth', 'self_signed_tls_client_auth', 'private_key_jwt', ...(users ? ['none'] : [])],
    scopes: config.scopes,
    jwks: { keys: signingKeys },
    ...(users ? {
      findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub, ...users[sub] }) }),
      extraTokenClaims: (ctx, token) => (token.kind === 'AccessToken' ? users[token.accountId] : undefined),
    } : {}),
    formats: {
      customizers: {
        jwt: (ctx, token, jwt) => {
          jwt.payload.iat -= tokenClockLag;
          jwt.payload.exp -= tokenClockLag;
        },
      },
    },
    features: {
      devInteractions: { enabled: Boolean(users) },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: (ctx, client) => (config.introspectors ?? []).includes(client.clientId),
      },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        getCertificate: (ctx) => ctx.socket.getPeerX509Certificate(),
        certificateAuthorized: (ctx) => ctx.socket.authorized,
        certificateSubjectMatches: (ctx, property, expected) => {
          if (property !== 'tls_client_auth_san_uri') return false;
          const san = ctx.socket.getPeerX509Certificate()?.subjectAltName ?? '';
          return san.split(', ').includes(`URI:${expected}`);
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => config.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          if (config.opaqueResource && resourceIndicator === config.opaqueResource) {
            return { scope: config.scopes.join(' '), audience: config.opaqueResource, accessTokenFormat: 'opaque' };
          }
          if (!jwtResources.includes(resourceIndicator)) throw new Error('unknown resource');
          return {
            scope: config.scopes.join(' '),
            audience: resourceIndicator,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
  });
  const serve = () => {
    const provider = newProvider();
    provider.on('server_error', (ctx, err) => console.error(`server_error: ${err.message}`));
    provider.on('grant.error', (ctx, err) => console.error(`grant.error: ${err.error ?? err.message} ${err.error_description ?? ''}`));
    return provider.callback();
  };
  // Same issuer, same port, same clients: only the keys change (the provider's key store is fixed when it is built).
  let handle = serve();
  server.on('request', (req, res) => handle(req, res));
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    const lag = chunk.split('\n').map((line) => /^LAG (-?\d+)$/.exec(line.trim())).find(Boolean);
    if (lag) {
      tokenClockLag = Number(lag[1]);
      console.log(`LAGGING ${tokenClockLag}`);
      return;
    }
    if (!chunk.split('\n').some((line) => line.trim() === 'ROTATE')) return;
    const kid = `interop-es256-${signingKeys.length + 1}`;
    signingKeys = [newSigningKey(kid), ...signingKeys];
    handle = serve();
    console.log(`ROTATED ${kid}`);
  });
  console.log(`LISTENING ${port}`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
