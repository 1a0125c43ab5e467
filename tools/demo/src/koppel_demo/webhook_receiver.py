"""A local webhook endpoint for the demo consultants: verifies, logs, answers.

`python -m koppel_demo.webhook_receiver` listens on 127.0.0.1:8090 for
`POST /webhooks/<consultant_id>`, checks the Standard Webhooks signature with that
consultant's secret and appends one JSON line per request to `.local/webhooks/webhooks.jsonl`
(`verified` true or false, `duplicate` when a verified request repeats a `webhook-id`).
Secrets come from the JSON file the loader writes (`.local/demo/webhook_secrets.json`,
re-read when it changes), else they are derived from `--seed` like the generator does.

It is the receiver integrators copy, so it does what theirs must: a request whose signature
does not verify (wrong secret, changed body, missing headers, a timestamp more than five
minutes off) is refused with 401 and never counts as a delivery; a verified one gets 204,
a redelivery too, so the sender stops retrying. Only verified ids are remembered, so a forged
request cannot make the real one look like a repeat.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from koppel_demo.data import webhook_secret

DEFAULT_LOG = Path(".local/webhooks/webhooks.jsonl")
DEFAULT_SECRETS = Path(".local/demo/webhook_secrets.json")
_MAX_BODY = 1 << 20


class SecretBook:
    """consultant id → `whsec_` secret, from the loader's file or derived from the seed."""

    def __init__(self, path: Path | None, seed: int) -> None:
        self._path = path
        self._seed = seed
        self._secrets: dict[str, str] = {}
        self._mtime: float | None = None
        self._lock = threading.Lock()

    def secret_for(self, consultant_id: str) -> str:
        with self._lock:
            self._reload_if_changed()
            return self._secrets.get(consultant_id) or webhook_secret(consultant_id, self._seed)

    def _reload_if_changed(self) -> None:
        if self._path is None or not self._path.is_file():
            return
        mtime = self._path.stat().st_mtime
        if mtime != self._mtime:
            loaded = json.loads(self._path.read_text())
            self._secrets = {str(key): str(value) for key, value in loaded.items()}
            self._mtime = mtime


class WebhookLog:
    """Appends one JSON object per received webhook; remembers verified ids to flag
    redeliveries."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            webhook_id = entry.get("webhook_id")
            entry["duplicate"] = bool(entry["verified"]) and webhook_id in self._seen
            if webhook_id and entry["verified"]:
                self._seen.add(webhook_id)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _handler(secrets: SecretBook, log: WebhookLog) -> type[BaseHTTPRequestHandler]:
    class WebhookHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            prefix = "/webhooks/"
            length = int(self.headers.get("Content-Length") or 0)
            if not self.path.startswith(prefix) or length > _MAX_BODY:
                self._answer(HTTPStatus.NOT_FOUND if length <= _MAX_BODY else 413)
                return
            consultant_id = self.path.removeprefix(prefix).split("?", 1)[0].strip("/")
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            entry: dict[str, Any] = {
                "received_at": datetime.now(UTC).isoformat(),
                "consultant_id": consultant_id,
                "webhook_id": headers.get("webhook-id"),
                "verified": False,
            }
            try:
                Webhook(secrets.secret_for(consultant_id)).verify(body, headers)
                entry["verified"] = True
            except WebhookVerificationError as exc:
                entry["error"] = str(exc)
            try:
                entry["payload"] = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                entry["payload"] = body.decode(errors="replace")
            log.append(entry)
            self._answer(HTTPStatus.NO_CONTENT if entry["verified"] else HTTPStatus.UNAUTHORIZED)

        def do_GET(self) -> None:
            self._answer(HTTPStatus.OK if self.path == "/healthz" else HTTPStatus.NOT_FOUND)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return WebhookHandler


class WebhookReceiver:
    def __init__(
        self,
        log_path: Path = DEFAULT_LOG,
        *,
        secrets_path: Path | None = DEFAULT_SECRETS,
        seed: int = 42,
        host: str = "127.0.0.1",
        port: int = 8090,
    ) -> None:
        self.log = WebhookLog(log_path)
        self._secrets = SecretBook(secrets_path, seed)
        self._host = host
        self.port = port
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        self.log.path.parent.mkdir(parents=True, exist_ok=True)
        self._server = ThreadingHTTPServer(
            (self._host, self.port), _handler(self._secrets, self.log)
        )
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="koppel_demo.webhook_receiver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG)
    parser.add_argument("--secrets", type=Path, default=DEFAULT_SECRETS)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    receiver = WebhookReceiver(
        args.log, secrets_path=args.secrets, seed=args.seed, host=args.host, port=args.port
    )
    receiver.start()
    print(
        f"webhook receiver: http://{args.host}:{receiver.port}/webhooks/<id> -> {args.log}",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    receiver.stop()


if __name__ == "__main__":
    main()
