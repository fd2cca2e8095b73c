/**
 * Follow a bulk onboarding job of Producer Graph live, with the graphql-ws client.
 *
 *   npm ci && npm run typecheck
 *   PRODUCER_GRAPH_TOKEN=<admin token> npx tsx bulkProgress.ts <jobId> [ws://127.0.0.1:8000/graphql]
 *
 * The types come from ../../schema.graphql (npm run codegen), so a schema change that breaks this
 * subscription fails `tsc --noEmit`.
 */
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import type { BulkProgressSubscription, BulkProgressSubscriptionVariables } from "./generated/graphql.js";

const PROGRESS = /* GraphQL */ `
  subscription BulkProgress($jobId: ID!) {
    bulkOnboardingProgress(jobId: $jobId) {
      status
      total
      processed
      succeeded
      failed
      rowsPerSecond
      estimatedSecondsLeft
    }
  }
`;

type Progress = BulkProgressSubscription["bulkOnboardingProgress"];

export function followBulkJob(url: string, token: string, jobId: string,
                              onProgress: (progress: Progress) => void): Promise<Progress | null> {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    lazy: true,
  });
  const variables: BulkProgressSubscriptionVariables = { jobId };
  let last: Progress | null = null;
  return new Promise((resolve, reject) => {
    client.subscribe<BulkProgressSubscription, BulkProgressSubscriptionVariables>(
      { query: PROGRESS, variables },
      {
        next: (result) => {
          if (result.errors?.length) {
            reject(new Error(result.errors.map((e) => e.message).join("; ")));
            return;
          }
          if (result.data) {
            last = result.data.bulkOnboardingProgress;
            onProgress(last);
          }
        },
        error: (error) => {
          void client.dispose();
          reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
        },
        complete: () => {
          void client.dispose();
          resolve(last);
        },
      },
    );
  });
}

async function main(): Promise<void> {
  const [jobId, url = "ws://127.0.0.1:8000/graphql"] = process.argv.slice(2);
  const token = process.env.PRODUCER_GRAPH_TOKEN;
  if (!jobId || !token) {
    console.error("usage: PRODUCER_GRAPH_TOKEN=<token> tsx bulkProgress.ts <jobId> [ws-url]");
    process.exit(2);
  }
  const final = await followBulkJob(url, token, jobId, (p) => {
    const running = p.status === "RUNNING" && p.estimatedSecondsLeft != null;
    const eta = running ? `, about ${Math.ceil(p.estimatedSecondsLeft ?? 0)} s left` : "";
    console.log(`${p.status}: ${p.processed}/${p.total} processed, ${p.succeeded} onboarded, ${p.failed} failed${eta}`);
  });
  console.log(final?.status === "COMPLETED" ? "job completed" : `job ended: ${final?.status ?? "unknown"}`);
}

if (process.argv[1]?.endsWith("bulkProgress.ts")) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
