"""Send (or print as curl) a signed courier event, as a courier's system would:

    python -m carebridge.portal.delivery.send_event --courier ems --tracking EMS9861234567 \\
        --event delivered --location "长治市潞州区" --demo --send

Run it in the directory (or with the CAREBRIDGE_* settings) of the server. The secret is the
courier's configured one (CAREBRIDGE_DELIVERY_COURIER_SECRETS); with --demo, for a `carebridge demo`
instance, the one derived from the demo's secret key. Without --send it prints a curl command that
stays valid for the webhook's tolerance window (5 minutes by default)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import shlex
import sys
import time

from carebridge.config import get_settings
from carebridge.portal.delivery import courier

EVENTS = ("picked_up", "in_transit", "delivered", "failed", "returned")


def build(args: argparse.Namespace) -> tuple[str, bytes, dict[str, str]]:
    settings = get_settings()
    if args.demo:
        settings.demo_mode = True
    secret = courier.courier_secret(settings, args.courier)
    if secret is None:
        sys.exit(f"no webhook secret for courier {args.courier!r}: set CAREBRIDGE_DELIVERY_COURIER_SECRETS "
                 "or use --demo against a demo instance")
    body = json.dumps({
        "event_id": args.event_id or f"{args.courier}-{secrets.token_hex(6)}", "tracking_number": args.tracking,
        "event": args.event, "time": dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds"),
        "location": args.location, "note": args.note}, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", courier.TIMESTAMP_HEADER: stamp,
               courier.SIGNATURE_HEADER: courier.signature(secret, stamp, body)}
    return f"{args.url.rstrip('/')}/api/v1/delivery/courier/{args.courier}/events", body, headers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Send a signed courier event to the delivery webhook.")
    parser.add_argument("--courier", required=True, help="courier code, e.g. sf, ems, jd")
    parser.add_argument("--tracking", required=True, help="the parcel's tracking number")
    parser.add_argument("--event", required=True, choices=EVENTS)
    parser.add_argument("--location", default="")
    parser.add_argument("--note", default="")
    parser.add_argument("--event-id", default="", help="repeat one to see that a duplicate changes nothing")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--demo", action="store_true", help="use the demo instance's derived secret")
    parser.add_argument("--send", action="store_true", help="send it now instead of printing curl")
    args = parser.parse_args(argv)
    url, body, headers = build(args)
    if not args.send:
        parts = ["curl", "-sS", "-X", "POST", url] + [x for k, v in headers.items() for x in ("-H", f"{k}: {v}")]
        print(" ".join(shlex.quote(p) for p in [*parts, "--data-binary", body.decode()]))
        return
    import httpx

    response = httpx.post(url, content=body, headers=headers, timeout=10)
    print(response.status_code, response.text)


if __name__ == "__main__":
    main()
