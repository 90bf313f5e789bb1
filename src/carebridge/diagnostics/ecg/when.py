"""Recording times as devices write them: DICOM DT and HL7 v3 TS share the shape
YYYYMMDDHHMMSS[.ffffff][+/-ZZXX]. A time without an offset is the device's local time, taken to be
the network's display time zone (CAREBRIDGE_DISPLAY_TIMEZONE), where the carts are."""

from __future__ import annotations

import datetime as dt
import re

from carebridge.kit.clock import local_zone

_PATTERN = re.compile(r"^(\d{8})(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")


def device_time(text: str, offset: str = "") -> dt.datetime | None:
    """The aware UTC time, or None for an empty or unreadable value (the time is informative only)."""
    match = _PATTERN.match((text or "").strip())
    if not match:
        return None
    day, hour, minute, second, fraction, zone = match.groups()
    try:
        naive = dt.datetime.strptime(day, "%Y%m%d").replace(
            hour=int(hour or 0), minute=int(minute or 0), second=int(second or 0),
            microsecond=int((fraction or "0").ljust(6, "0")))
    except ValueError:
        return None
    zone = zone or (offset.strip() if re.fullmatch(r"[+-]\d{4}", offset.strip()) else "")
    if zone:
        sign = 1 if zone[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])))
    else:
        tz = local_zone()
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)
