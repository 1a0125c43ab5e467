"""A local SMTP sink for the demo: every message becomes an `.eml` file, browsable on a page.

`python -m koppel_demo.mail_sink` listens for SMTP on 127.0.0.1:1025 and serves the inbox on
http://127.0.0.1:8025 (list of messages; click one to read its HTML part, or `/raw/<file>`).
Nothing is relayed: the sink accepts every recipient and only writes files.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import functools
import html
import itertools
import signal
import threading
import time
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiosmtpd.controller import Controller

DEFAULT_DIRECTORY = Path(".local/mail")


class _StoreHandler:
    """aiosmtpd handler: writes the DATA of each message to its own file."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        with self._lock:
            number = next(self._counter)
        # Sortable by arrival; the counter keeps two messages in one second apart.
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{number:06d}.eml"
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        (self._directory / name).write_bytes(data)
        return "250 Message accepted for delivery"


def read_message(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@functools.lru_cache(maxsize=4096)
def _headline(path: Path) -> tuple[str, str, str]:
    """Date, To and Subject of a stored message (files never change once written)."""
    with path.open("rb") as stored:
        headers = BytesHeaderParser(policy=email.policy.default).parse(stored)
    return str(headers.get("Date", "")), str(headers.get("To", "")), str(headers.get("Subject", ""))


def _inbox_page(directory: Path, shown: int = 200) -> str:
    names = sorted((path.name for path in directory.glob("*.eml")), reverse=True)
    rows = []
    for name in names[:shown]:
        sent, to, subject = _headline(directory / name)
        rows.append(
            "<tr><td>{date}</td><td>{to}</td><td><a href='/message/{name}'>{subject}</a></td>"
            "<td><a href='/raw/{name}'>raw</a></td></tr>".format(
                date=html.escape(sent),
                to=html.escape(to),
                name=html.escape(name),
                subject=html.escape(subject or "(no subject)"),
            )
        )
    return (
        "<!doctype html><meta charset='utf-8'><title>Koppel demo inbox</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:.2em .8em;"
        "border-bottom:1px solid #ddd}</style>"
        f"<h1>Koppel demo inbox</h1><p>{len(names)} message(s) in {html.escape(str(directory))}"
        f" (newest {shown} shown)</p>"
        "<table><tr><th>Date</th><th>To</th><th>Subject</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _message_page(path: Path) -> str:
    message = read_message(path)
    part = message.get_body(preferencelist=("html", "plain"))
    content = part.get_content() if part is not None else ""
    if part is not None and part.get_content_type() == "text/plain":
        content = f"<pre>{html.escape(content)}</pre>"
    headers = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"
        for name, value in message.items()
    )
    return (
        "<!doctype html><meta charset='utf-8'>"
        f"<title>{html.escape(str(message.get('Subject', '')))}</title>"
        "<p><a href='/'>&larr; inbox</a></p>"
        f"<details><summary>headers</summary><table>{headers}</table></details><hr>{content}"
    )


def _inbox_handler(directory: Path) -> type[BaseHTTPRequestHandler]:
    class InboxHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = unquote(self.path.split("?", 1)[0])
            if path == "/healthz":
                self._send("ok", "text/plain; charset=utf-8")
                return
            if path == "/":
                self._send(_inbox_page(directory), "text/html; charset=utf-8")
                return
            for prefix in ("/message/", "/raw/"):
                if path.startswith(prefix):
                    target = directory / Path(path.removeprefix(prefix)).name
                    if target.suffix != ".eml" or not target.is_file():
                        break
                    if prefix == "/raw/":
                        self._send(target.read_text(errors="replace"), "text/plain; charset=utf-8")
                    else:
                        self._send(_message_page(target), "text/html; charset=utf-8")
                    return
            self.send_error(HTTPStatus.NOT_FOUND)

        def _send(self, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return InboxHandler


class MailSink:
    """The SMTP listener and the inbox page, started and stopped together."""

    def __init__(
        self,
        directory: Path = DEFAULT_DIRECTORY,
        *,
        host: str = "127.0.0.1",
        smtp_port: int = 1025,
        web_port: int | None = 8025,
    ) -> None:
        self.directory = directory
        self.host = host
        self.smtp_port = smtp_port
        self.web_port = web_port
        # Koppel's emails are small, but allow generous digests.
        self._smtp = Controller(
            _StoreHandler(directory), hostname=host, port=smtp_port, data_size_limit=10 * 2**20
        )
        self._web: ThreadingHTTPServer | None = None
        self._web_thread: threading.Thread | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._smtp.start()
        if self.web_port is not None:
            self._web = ThreadingHTTPServer(
                (self.host, self.web_port), _inbox_handler(self.directory)
            )
            self.web_port = self._web.server_address[1]
            self._web_thread = threading.Thread(target=self._web.serve_forever, daemon=True)
            self._web_thread.start()

    def stop(self) -> None:
        self._smtp.stop()
        if self._web is not None:
            self._web.shutdown()
            self._web.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="koppel_demo.mail_sink", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--web-port", type=int, default=8025)
    parser.add_argument("--directory", type=Path, default=DEFAULT_DIRECTORY)
    args = parser.parse_args(argv)
    sink = MailSink(
        args.directory, host=args.host, smtp_port=args.smtp_port, web_port=args.web_port
    )
    sink.start()
    print(
        f"mail sink: smtp://{args.host}:{args.smtp_port} -> {args.directory}/*.eml; "
        f"inbox http://{args.host}:{sink.web_port}",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    sink.stop()


if __name__ == "__main__":
    main()
