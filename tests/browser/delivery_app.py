"""The server of the delivery browser journey: the real app, plus the tests' dispensable source
(tests/delivery/source.py) registered in the server process, since pharmacy's prescriptions are
not wired in yet. Started as `python -m tests.browser.delivery_app --port N`."""

from __future__ import annotations

import argparse

from fastapi import FastAPI

from tests.delivery import source


def create_app() -> FastAPI:
    from carebridge.app import create_app as create

    source.register()
    return create()


if __name__ == "__main__":
    from granian import Granian
    from granian.constants import Interfaces

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    Granian("tests.browser.delivery_app:create_app", factory=True, address="127.0.0.1", port=port,
            interface=Interfaces.ASGI, log_access=False).serve()
