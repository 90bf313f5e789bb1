"""The ASGI app a real server (granian) runs for the WebRTC test: the full app plus the realtime
routers, in case app.py does not include them yet."""

from carebridge.app import create_app
from tests.realtime.conftest import include_realtime

app = create_app()
include_realtime(app)
