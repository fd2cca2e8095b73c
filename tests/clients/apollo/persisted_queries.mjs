// Runs one query three ways through Apollo Client's persisted query link against the server named by
// PRODUCER_GRAPH_URL, recording every request fetch sends; prints {requests, results} as JSON.
import { createHash } from "node:crypto";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries";

const uri = process.env.PRODUCER_GRAPH_URL;
const token = process.env.PRODUCER_GRAPH_TOKEN;
const requests = [];

async function recordingFetch(input, init = {}) {
  requests.push({ method: init.method ?? "GET", url: String(input), body: init.body ?? null });
  return fetch(input, init);
}

function client(useGETForHashedQueries) {
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  const http = new HttpLink({ uri, fetch: recordingFetch, headers: { Authorization: `Bearer ${token}` } });
  return new ApolloClient({
    link: ApolloLink.from([createPersistedQueryLink({ sha256, useGETForHashedQueries }), http]),
    cache: new InMemoryCache(),
  });
}

const AGENCIES = gql`
  query Agencies($first: Int!) {
    producers(first: $first, filter: { rootOnly: true }) {
      totalCount
      nodes { id name }
    }
  }
`;

const results = [];
const first = client(false);
for (let i = 0; i < 2; i++) {  // unknown hash, then the registration retry; then the hash alone
  const { data } = await first.query({ query: AGENCIES, variables: { first: 3 }, fetchPolicy: "network-only" });
  results.push(data);
}
const { data } = await client(true).query({ query: AGENCIES, variables: { first: 3 }, fetchPolicy: "network-only" });
results.push(data);
console.log(JSON.stringify({ requests, results }));
