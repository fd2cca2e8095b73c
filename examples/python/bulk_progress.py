"""Follow a bulk onboarding job of Producer Graph live, with the `gql` client over WebSocket.

    pip install 'gql[websockets]'
    PRODUCER_GRAPH_TOKEN=<admin token> python examples/python/bulk_progress.py <jobId> [ws://127.0.0.1:8000/graphql]

The first event is the job's current state; the subscription completes when the job ends.
"""

from __future__ import annotations

import asyncio
import os
import sys

from gql import Client, GraphQLRequest, gql
from gql.transport.websockets import WebsocketsTransport

PROGRESS = gql("""
subscription BulkProgress($jobId: ID!) {
  bulkOnboardingProgress(jobId: $jobId) {
    status total processed succeeded failed rowsPerSecond estimatedSecondsLeft
  }
}
""")


async def follow(url: str, token: str, job_id: str) -> str:
    """Print each progress event; return the job's final status."""
    transport = WebsocketsTransport(url, init_payload={"Authorization": f"Bearer {token}"},
                                    subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    status = "UNKNOWN"
    async with Client(transport=transport) as session:
        async for result in session.subscribe(GraphQLRequest(PROGRESS, variable_values={"jobId": job_id})):
            p = result["bulkOnboardingProgress"]
            status = p["status"]
            running = status == "RUNNING" and p["estimatedSecondsLeft"] is not None
            eta = f", about {p['estimatedSecondsLeft']:.0f} s left" if running else ""
            print(f"{status}: {p['processed']}/{p['total']} processed, {p['succeeded']} onboarded, "
                  f"{p['failed']} failed{eta}", flush=True)
    return status


def main() -> int:
    if len(sys.argv) < 2 or not os.environ.get("PRODUCER_GRAPH_TOKEN"):
        print(__doc__, file=sys.stderr)
        return 2
    url = sys.argv[2] if len(sys.argv) > 2 else "ws://127.0.0.1:8000/graphql"
    status = asyncio.run(follow(url, os.environ["PRODUCER_GRAPH_TOKEN"], sys.argv[1]))
    print("job completed" if status == "COMPLETED" else f"job ended: {status}")
    return 0 if status == "COMPLETED" else 1


if __name__ == "__main__":
    raise SystemExit(main())
