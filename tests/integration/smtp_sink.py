#!/usr/bin/python3
"""A small SMTP relay for the notice tests, on Debian's aiosmtpd.

    smtp_sink.py PORT FILE

Listens on 127.0.0.1:PORT and appends every accepted message to FILE as one
JSON line {"mail_from", "rcpt_tos", "data"} (flushed before the 250 reply, so
what the relay accepted is on disk). Stops on SIGTERM.
"""
import asyncio
import json
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class AppendToFile:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.original_content.decode("utf-8", "replace"),
        }
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return "250 OK: queued"


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = AppendToFile(path)
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, hostname="sink.test"), "127.0.0.1", port))
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


if __name__ == "__main__":
    main()
