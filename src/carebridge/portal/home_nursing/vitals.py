"""Vital signs a visiting nurse measures, their LOINC codes and UCUM units, and the limits the risk
assessment sets: a reading beyond a limit is flagged on the visit record and the coordinator told."""

from __future__ import annotations

import math
from dataclasses import dataclass

from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_


@dataclass(frozen=True)
class Vital:
    key: str
    loinc: str
    unit: str
    label: str
    low: float  # plausible range: outside it is a typo, not a reading
    high: float


VITALS: dict[str, Vital] = {v.key: v for v in (
    Vital("systolic", "8480-6", "mm[Hg]", N_("Systolic blood pressure (mmHg)"), 40, 300),
    Vital("diastolic", "8462-4", "mm[Hg]", N_("Diastolic blood pressure (mmHg)"), 20, 200),
    Vital("heart_rate", "8867-4", "/min", N_("Heart rate (/min)"), 20, 250),
    Vital("temperature", "8310-5", "Cel", N_("Body temperature (°C)"), 30, 45),
    Vital("spo2", "59408-5", "%", N_("Oxygen saturation (%%)"), 50, 100),
    Vital("resp_rate", "9279-1", "/min", N_("Respiratory rate (/min)"), 4, 80),
)}

# Limit name -> (vital, direction). Defaults are the usual thresholds for calling the doctor before
# a home procedure; the assessing nurse adjusts them per patient.
LIMITS: dict[str, tuple[str, str]] = {
    "systolic_max": ("systolic", "max"), "systolic_min": ("systolic", "min"),
    "diastolic_max": ("diastolic", "max"), "heart_rate_max": ("heart_rate", "max"),
    "heart_rate_min": ("heart_rate", "min"), "temperature_max": ("temperature", "max"),
    "spo2_min": ("spo2", "min"),
}
DEFAULT_LIMITS: dict[str, float] = {"systolic_max": 180, "systolic_min": 90, "diastolic_max": 110,
                                    "heart_rate_max": 120, "heart_rate_min": 50, "temperature_max": 38.5,
                                    "spo2_min": 92}
LIMIT_LABELS = {"max": N_("%(vital)s above %(limit)s"), "min": N_("%(vital)s below %(limit)s")}


def _number(key: str, value: object, low: float, high: float) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(N_("a vital sign must be a number"), details={"field": key}) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidInput(N_("this value is outside the plausible range"),
                           details={"field": key, "low": low, "high": high})
    return number


def check_limits(limits: dict) -> dict[str, float]:
    unknown = sorted(set(limits) - set(LIMITS))
    if unknown:
        raise InvalidInput(N_("unknown vital-sign limit"), details={"unknown": unknown, "allowed": sorted(LIMITS)})
    checked = dict(DEFAULT_LIMITS)
    for key, value in limits.items():
        if value is None or value == "":
            continue
        vital = VITALS[LIMITS[key][0]]
        checked[key] = _number(key, value, vital.low, vital.high)
    return checked


def check_vitals(vitals: dict) -> dict[str, float]:
    unknown = sorted(set(vitals) - set(VITALS))
    if unknown:
        raise InvalidInput(N_("unknown vital sign"), details={"unknown": unknown, "allowed": sorted(VITALS)})
    return {key: _number(key, value, VITALS[key].low, VITALS[key].high)
            for key, value in vitals.items() if value is not None and value != ""}


def beyond_limits(vitals: dict[str, float], limits: dict[str, float]) -> list[str]:
    """The names of the limits the readings cross, e.g. ["systolic_max"]."""
    crossed = []
    for name, limit in sorted(limits.items()):
        vital, direction = LIMITS.get(name, ("", ""))
        value = vitals.get(vital)
        if value is not None and (value > limit if direction == "max" else value < limit):
            crossed.append(name)
    return crossed
