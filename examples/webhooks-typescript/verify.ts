// Verify a Producer Graph webhook with the Standard Webhooks library, as a receiver does before trusting it.
// `npm run build`, then: echo '{"secret": "whsec_...", "body": "...", "headers": {...}}' | node dist/verify.js
import { Webhook, WebhookVerificationError } from "standardwebhooks";

export interface ProducerGraphEvent {
  type: string; // e.g. "producer.validated", "bulkJob.completed"
  timestamp: string; // when the change happened (ISO 8601, UTC)
  data: Record<string, unknown>;
}

/** The event, when `body` (the raw request body) is signed with `secret`; throws WebhookVerificationError if not. */
export function verifyEvent(secret: string, body: string, headers: Record<string, string>): ProducerGraphEvent {
  return new Webhook(secret).verify(body, headers) as ProducerGraphEvent;
}

async function main(): Promise<void> {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const { secret, body, headers } = JSON.parse(input) as {
    secret: string;
    body: string;
    headers: Record<string, string>;
  };
  try {
    const event = verifyEvent(secret, body, headers);
    process.stdout.write(`${JSON.stringify({ verified: true, type: event.type, webhookId: headers["webhook-id"] })}\n`);
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    process.stdout.write(`${JSON.stringify({ verified: false, reason: error.message })}\n`);
    process.exitCode = 1;
  }
}

await main();
