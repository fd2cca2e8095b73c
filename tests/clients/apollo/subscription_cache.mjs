// Apollo Client's InMemoryCache updated by subscription events alone (tests/clients/test_apollo_subscription_cache.py):
// queries cache a producer and a bulk onboarding job over HTTP; changes are made with plain fetch (outside Apollo,
// so nothing but the subscriptions can reach the cache); producerEvents and bulkOnboardingProgress arrive over
// graphql-transport-ws; the cache is read back with fetchPolicy "cache-only". Prints the reads and every request
// Apollo's HTTP link sent, as JSON.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const env = process.env;
const uri = env.PRODUCER_GRAPH_URL;
const token = env.PRODUCER_GRAPH_TOKEN;
const requests = [];

async function recordingFetch(input, init = {}) {
  requests.push({ method: init.method ?? "GET", body: init.body ?? null });
  return fetch(input, init);
}

const ws = createClient({
  url: uri.replace(/^http/, "ws"),
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
});
const isSubscription = ({ query }) => {
  const definition = getMainDefinition(query);
  return definition.kind === "OperationDefinition" && definition.operation === "subscription";
};
const client = new ApolloClient({
  link: ApolloLink.split(isSubscription, new GraphQLWsLink(ws),
    new HttpLink({ uri, fetch: recordingFetch, headers: { Authorization: `Bearer ${token}` } })),
  cache: new InMemoryCache(),
});

// A change made beside Apollo: its answer never reaches the cache.
async function plain(query, variables) {
  const response = await fetch(uri, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

// Events of one subscription until `done(event)` says stop (or the server completes it); `onFirst` runs once.
function collect(query, variables, { done = () => false, onFirst = async () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const events = [];
    const subscription = client.subscribe({ query, variables }).subscribe({
      next: async (result) => {
        if (result.error) { reject(result.error); return; }
        events.push(result.data);
        if (events.length === 1) await onFirst().catch(reject);
        if (done(result.data)) { subscription.unsubscribe(); resolve(events); }
      },
      error: reject,
      complete: () => resolve(events),
    });
    setTimeout(() => reject(new Error(`no end after 60 s: ${JSON.stringify(events)}`)), 60000).unref();
  });
}

const PRODUCER = gql`
  query Producer($id: ID!) { producer(id: $id) { id lastName state } }
`;
const JOB = gql`
  query Job($id: ID!) { bulkOnboardingJob(id: $id) { id status succeededRows failedRows progress { processed } } }
`;
const EVENTS = gql`
  subscription Events {
    producerEvents(entities: [PRODUCER]) { id name node { id ... on Producer { lastName state } } }
  }
`;
const PROGRESS = gql`
  subscription Progress($id: ID!) {
    bulkOnboardingProgress(jobId: $id) { status processed job { id status succeededRows failedRows progress { processed } } }
  }
`;
const RENAME = `mutation($id: ID!) { updateProducer(id: $id, input: {lastName: "FromTheEvent"}) { userErrors { code } } }`;

const producer = { id: env.PRODUCER_ID };
const job = { id: env.JOB_ID };
const out = {};
out.producerBefore = (await client.query({ query: PRODUCER, variables: producer })).data.producer;
out.jobBefore = (await client.query({ query: JOB, variables: job })).data.bulkOnboardingJob;
out.requestsAfterQueries = requests.length;

// producerEvents: rename the producer beside Apollo once the subscription runs; stop at its event
const renamed = collect(EVENTS, {}, { done: (data) => data.producerEvents.node?.id === producer.id
  && data.producerEvents.name === "producer.updated" });
await new Promise((resolve) => setTimeout(resolve, 1000));  // the feed starts from the moment it runs
await plain(RENAME, producer);
out.producerEvents = await renamed;
out.producerAfter = (await client.query({ query: PRODUCER, variables: producer, fetchPolicy: "cache-only" })).data.producer;

// bulkOnboardingProgress: start the job beside Apollo after the first (current) state; follow it to its end
out.progress = await collect(PROGRESS, job, { onFirst: async () => {
  await plain(env.SET_PAYMENT, { jobId: job.id });
  await plain(env.START, { jobId: job.id });
} });
out.jobAfter = (await client.query({ query: JOB, variables: job, fetchPolicy: "cache-only" })).data.bulkOnboardingJob;
out.requests = requests;
await ws.dispose();
console.log(JSON.stringify(out));
