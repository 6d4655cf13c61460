// A front-end's view of bac-metrics through @apollo/client (core, no React): a query with a
// token, an error's `extensions.code` through Apollo's error object, Apollo's automatic persisted
// queries (hash first, then the text once, then the hash alone — also over GET), a CORS
// preflight from an allowed and from another origin, and trusted-documents mode with a
// persisted-query manifest registered by `bac-metrics documents add`.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { CombinedGraphQLErrors, gql, InMemoryCache } from '@apollo/client';
import { print } from '@apollo/client/utilities';
import {
  allowedOrigin,
  apolloClient,
  bac,
  baseUrl,
  sha256,
  startAllowListServer,
  token,
} from './harness.mjs';

const SUPERVISOR = 'supervisor.north@bac.example.gov';
const AGENT = 'agent.north.phone.1@bac.example.gov';

/** A name no earlier run used, so a persisted query starts unknown even on a reused server. */
function uniqueName(prefix) {
  return `${prefix}_${randomUUID().replaceAll('-', '')}`;
}

/** The error Apollo Client rejects with, for a query or mutation that fails. */
async function failure(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the operation to fail');
}

let supervisorToken;
let agentToken;
before(() => {
  supervisorToken = token(SUPERVISOR);
  agentToken = token(AGENT);
});

test('a query with a demo token answers for its caller', async () => {
  const client = apolloClient({ bearer: supervisorToken });
  const { data } = await client.query({
    query: gql`
      query ClientMe {
        me {
          email
          role
          orgUnit {
            name
          }
        }
        metricCatalog {
          metric
        }
      }
    `,
  });
  assert.equal(data.me.email, SUPERVISOR);
  assert.equal(data.me.role, 'SUPERVISOR');
  assert.ok(data.metricCatalog.length >= 17, JSON.stringify(data.metricCatalog));
});

test("errors carry extensions.code through Apollo's error object", async () => {
  const anonymous = apolloClient();
  const unauthenticated = await failure(anonymous.query({ query: gql`query ClientAnonymousMe { me { email } }` }));
  assert.ok(CombinedGraphQLErrors.is(unauthenticated), String(unauthenticated));
  assert.equal(unauthenticated.errors[0].extensions.code, 'UNAUTHENTICATED');

  const agent = apolloClient({ bearer: agentToken });
  const forbidden = await failure(
    agent.mutate({
      mutation: gql`
        mutation ClientCreateTopic {
          createTopic(code: "CLIENT-TEST", name: "Not for agents") {
            code
          }
        }
      `,
    }),
  );
  assert.ok(CombinedGraphQLErrors.is(forbidden), String(forbidden));
  assert.equal(forbidden.errors[0].extensions.code, 'FORBIDDEN');
  assert.match(forbidden.errors[0].message, /agent role may not/);
});

test('a persisted query: the hash first, the text once, then the hash alone (also over GET)', async () => {
  const name = uniqueName('ClientPersisted');
  const query = gql(`query ${name} { me { email } }`);

  // First client: unknown hash → PERSISTED_QUERY_NOT_FOUND → the link resends with the text.
  const first = [];
  const { data } = await apolloClient({ bearer: supervisorToken, persisted: true, exchanges: first }).query({ query });
  assert.equal(data.me.email, SUPERVISOR);
  assert.equal(first.length, 2, JSON.stringify(first));
  const [hashOnly, withText] = first;
  assert.equal(hashOnly.body.query, undefined);
  const hash = hashOnly.body.extensions.persistedQuery.sha256Hash;
  assert.match(hash, /^[0-9a-f]{64}$/);
  // Apollo asks for application/graphql-response+json: the miss is a 404 it understands.
  assert.equal(hashOnly.status, 404);
  assert.equal(sha256(withText.body.query), hash);
  assert.equal(withText.body.extensions.persistedQuery.sha256Hash, hash);
  assert.equal(withText.status, 200);

  // Second client (a new page load): the hash alone, over GET, succeeds at once.
  const second = [];
  const again = await apolloClient({ bearer: agentToken, persisted: true, useGET: true, exchanges: second }).query({
    query,
  });
  assert.equal(again.data.me.email, AGENT);
  assert.equal(second.length, 1, JSON.stringify(second));
  assert.equal(second[0].method, 'GET');
  assert.equal(second[0].status, 200);
  const url = new URL(second[0].url);
  assert.equal(url.searchParams.get('query'), null);
  assert.equal(JSON.parse(url.searchParams.get('extensions')).persistedQuery.sha256Hash, hash);
});

test('a CORS preflight is answered for an allowed origin and refused for another', async () => {
  const preflight = (origin) =>
    fetch(`${baseUrl}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
  const allowed = await preflight(allowedOrigin);
  assert.equal(allowed.status, 204);
  assert.equal(allowed.headers.get('access-control-allow-origin'), allowedOrigin);
  assert.match(allowed.headers.get('access-control-allow-methods'), /POST/);
  assert.match(allowed.headers.get('access-control-allow-headers').toLowerCase(), /authorization/);
  assert.match(allowed.headers.get('access-control-allow-headers').toLowerCase(), /content-type/);

  const other = await preflight('https://elsewhere.example');
  assert.equal(other.status, 403);
  assert.equal(other.headers.get('access-control-allow-origin'), null);

  // The request that follows the preflight: its answer names the origin, so the browser hands
  // it to the script.
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { origin: allowedOrigin, 'content-type': 'application/json', authorization: `Bearer ${agentToken}` },
    body: JSON.stringify({ query: '{ me { email } }' }),
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('access-control-allow-origin'), allowedOrigin);
});

test('trusted-documents mode: a manifest registered with `documents add` runs, anything else is refused', async (t) => {
  // The build step: the operations the front-end sends, printed the way Apollo Client prints
  // them (with the __typename fields its cache adds), in Apollo's manifest format.
  const name = uniqueName('ClientTrusted');
  const trusted = gql(`query ${name} { me { email } }`);
  const body = print(new InMemoryCache().transformDocument(trusted));
  const folder = mkdtempSync(join(tmpdir(), 'bac-metrics-manifest-'));
  const manifest = join(folder, 'persisted-query-manifest.json');
  writeFileSync(
    manifest,
    JSON.stringify({
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [{ id: sha256(body), name, type: 'query', body }],
    }),
  );
  const added = bac(['documents', 'add', manifest]);
  rmSync(folder, { recursive: true, force: true });
  assert.match(added, new RegExp(`${sha256(body)}  added  ${name}`));

  const server = await startAllowListServer();
  t.after(() => server.stop());
  const graphqlUrl = `${server.url}/graphql`;

  // The registered operation is found by its hash on the first request.
  const exchanges = [];
  const { data } = await apolloClient({ graphqlUrl, bearer: supervisorToken, persisted: true, exchanges }).query({
    query: trusted,
  });
  assert.equal(data.me.email, SUPERVISOR);
  assert.equal(exchanges.length, 1, JSON.stringify(exchanges));
  assert.equal(exchanges[0].body.query, undefined);

  // Anything else: not found by hash, then refused with its text.
  const refusedExchanges = [];
  const refused = await failure(
    apolloClient({ graphqlUrl, bearer: supervisorToken, persisted: true, exchanges: refusedExchanges }).query({
      query: gql(`query ${uniqueName('ClientUnregistered')} { me { email } }`),
    }),
  );
  assert.ok(CombinedGraphQLErrors.is(refused), String(refused));
  assert.equal(refused.errors[0].extensions.code, 'PERSISTED_QUERY_NOT_ALLOWED');
  assert.deepEqual(
    refusedExchanges.map((exchange) => exchange.status),
    [404, 403],
  );
  // A plain client sending the text of an unregistered query is refused the same way.
  const plain = await failure(
    apolloClient({ graphqlUrl, bearer: supervisorToken }).query({ query: gql`query ClientPlain { me { role } }` }),
  );
  assert.equal(plain.errors[0].extensions.code, 'PERSISTED_QUERY_NOT_ALLOWED');
});
