"""The viewer partial renders with nothing but the order in its context, so the reading page can
include it beside the report form."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

from carebridge.web.templating import env


def test_the_viewer_partial_needs_only_the_order():
    html = env.get_template("ecg/ecg_viewer.html").render(order=SimpleNamespace(id=42))
    assert 'data-order-id="42"' in html and "/static/ecg-viewer.js" in html
    strings = json.loads(re.search(r'<script type="application/json" class="ecg-strings">(.*?)</script>', html,
                                   re.S).group(1))
    # placeholders survive for the script to fill in
    assert "%(ms)s" in strings["interval"] and "%(bpm)s" in strings["interval"]
    assert strings["flags"]["suspected_af"] and strings["reasons"]["not_found"]
