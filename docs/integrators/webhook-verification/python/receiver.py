"""Receives Koppel's webhooks: checks the signature over the raw body, answers 401 when it
does not match (or the timestamp is more than five minutes off), and handles each
webhook-id once. WEBHOOK_SECRET is the consultant's `whsec_...` secret."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["WEBHOOK_SECRET"])
seen: set[str] = set()  # keep these in your database in production


def handle(webhook_id: str, event: dict[str, Any]) -> None:
    match_id = event["data"].get("match_id")
    print(f"new webhook {webhook_id}: {event['type']} for match {match_id}", flush=True)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        # Verify the bytes as received: re-serialised JSON would not match the signature.
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            event = webhook.verify(body, headers)
        except WebhookVerificationError:
            self.answer(401)
            return
        if headers["webhook-id"] not in seen:
            seen.add(headers["webhook-id"])
            handle(headers["webhook-id"], event)
        self.answer(204)

    def answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    print(f"listening on {port}", flush=True)
    server.serve_forever()
