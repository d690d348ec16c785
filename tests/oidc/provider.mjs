// A real OpenID Connect provider (panva's oidc-provider, OpenID-certified) on loopback for the
// web chat's sign-in test (tests/integration/test_ui_signin.py). Test use only.
//
// Configured by one JSON argument:
//   {"port": 0, "client_id": "...", "client_secret": "...", "redirect_uri": "http://127.0.0.1:N/oauth2callback",
//    "id_token_ttl_s": 20, "session_ttl_s": 600,
//    "users": {"bob": {"password": "...", "email": "...", "name": "...", "groups": ["finance"]}}}
// A user's `sub` is its login. Claims an attacker could set at a real provider are per user too:
// "email_verified" (default true), "preferred_username" (default the login; null leaves it out);
// without "email" the token has no e-mail claims.
// Prints one line `listening <issuer>` once it accepts connections; stops on SIGTERM.
//
// For `docduet serve`'s bearer tokens (tests/integration/test_api_serve.py), "resources" turns on
// RFC 8707 resource indicators: {"urn:docduet:api": {"audience": "urn:docduet:api", "ttl_s": 600}}.
// An authorization request with resource=<key> then gets a JWT access token (RS256) whose aud is
// that resource's audience, living ttl_s, carrying the user's groups and e-mail claims.
//
// Sign-in is oidc-provider's own login form (login + password, checked against `users` here)
// and consent is granted on first use, so a browser goes provider form -> back to the app.
import http from 'node:http';
import { once } from 'node:events';

import Provider, { errors } from 'oidc-provider';

const options = JSON.parse(process.argv[2] ?? '{}');
const users = options.users ?? {};
const SCOPES = ['openid', 'email', 'profile', 'groups'];

function account(id) {
  const user = users[id];
  if (!user) return undefined;
  return {
    accountId: id,
    async claims() {
      const claims = { sub: id, name: user.name ?? id, groups: user.groups ?? [] };
      const username = user.preferred_username === undefined ? id : user.preferred_username;
      if (username !== null) claims.preferred_username = username;
      if (user.email !== undefined) {
        claims.email = user.email;
        claims.email_verified = user.email_verified ?? true;
      }
      return claims;
    },
  };
}

const resources = options.resources ?? null;

// JWT access tokens for the resources named in the options (off without them).
function resourceIndicators() {
  if (!resources) return {};
  return {
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => {
        const resource = resources[indicator];
        if (!resource) throw new errors.InvalidTarget();
        return {
          scope: 'api', audience: resource.audience ?? indicator, accessTokenFormat: 'jwt',
          accessTokenTTL: resource.ttl_s ?? 600, jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  };
}

// The user's groups and e-mail in a JWT access token, as a provider that maps them into it would.
async function extraTokenClaims(ctx, token) {
  const user = users[token.accountId];
  if (!resources || !user) return undefined;
  const claims = { groups: user.groups ?? [] };
  if (user.email !== undefined) {
    claims.email = user.email;
    claims.email_verified = user.email_verified ?? true;
  }
  return claims;
}

function configuration() {
  return {
    clients: [{
      client_id: options.client_id,
      client_secret: options.client_secret,
      redirect_uris: [options.redirect_uri],
      post_logout_redirect_uris: [options.redirect_uri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    scopes: SCOPES,
    conformIdTokenClaims: false, // the groups claim goes into the ID token, where st.user reads it
    cookies: { keys: ['docduet-test-provider-cookie-key'] },
    findAccount: (ctx, id) => account(id),
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true }, ...resourceIndicators() },
    extraTokenClaims,
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    loadExistingGrant,
    ttl: {
      IdToken: options.id_token_ttl_s ?? 60,
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? options.id_token_ttl_s ?? 60,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: options.session_ttl_s ?? 600,
      Grant: options.session_ttl_s ?? 600,
    },
  };
}

// Consent is implied for the one test client: grant whatever scopes it asked for.
async function loadExistingGrant(ctx) {
  const { client, session } = ctx.oidc;
  const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
  if (grantId) {
    const existing = await ctx.oidc.provider.Grant.find(grantId);
    if (existing) return existing;
  }
  const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  grant.addOIDCScope([...ctx.oidc.requestParamScopes].filter((s) => SCOPES.includes(s)).join(' '));
  const resource = ctx.oidc.params?.resource;
  if (resources && typeof resource === 'string' && resources[resource]) grant.addResourceScope(resource, 'api');
  await grant.save();
  session.grantIdFor(client.clientId, grant.jti);
  return grant;
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, message) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Test provider sign-in</title></head>
<body><h1>Test provider sign-in</h1>${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>Login <input name="login" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return Object.fromEntries(new URLSearchParams(body));
}

// The login pages (our own, instead of devInteractions: no external fonts, real password check).
async function interactions(provider, req, res) {
  const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(new URL(req.url, 'http://x').pathname);
  if (!match) return false;
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name !== 'login') {
    await provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
    return true;
  }
  if (req.method === 'POST' && match[2]) {
    const form = await readForm(req);
    const user = users[form.login];
    if (!user || user.password !== form.password) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(loginPage(details.uid, 'Wrong login or password.'));
      return true;
    }
    await provider.interactionFinished(req, res, { login: { accountId: form.login } }, { mergeWithLastSubmission: false });
    return true;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(loginPage(details.uid, ''));
  return true;
}

async function main() {
  const server = http.createServer();
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration());
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    try {
      if (await interactions(provider, req, res)) return;
    } catch (err) {
      if (!(err instanceof errors.SessionNotFound)) console.error(err);
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${err.message}`);
      return;
    }
    callback(req, res);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  console.log(`listening ${issuer}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
