"""The one validated Settings object (env prefix CAREBRIDGE_). Every field is documented in
docs/operations.md."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from carebridge.errors import ConfigurationError

MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREBRIDGE_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    blob_dir: Path | None = None
    secret_key: SecretStr | None = None
    demo_mode: bool = False

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    default_locale: str = "zh_CN"

    # Payments. Insured items are split by the patient's declared scheme; a real provider (WeChat Pay,
    # Alipay, a bank) plugs in beside the demo one (payments/providers.py).
    payments_provider: str = "demo"
    # The demo provider moves no money; outside demo mode it takes payments only when this is set
    # (tests, staging), so a real installation never marks a charge paid that nobody paid.
    payments_demo_provider_enabled: bool = False
    payments_employee_insurance_percent: int = Field(70, ge=0, le=100)
    payments_resident_insurance_percent: int = Field(50, ge=0, le=100)
    payments_callback_tolerance_seconds: int = Field(300, ge=30)

    # Live sessions. URLs are comma-separated; TURN credentials follow coturn's use-auth-secret.
    realtime_redis_url: str = ""
    realtime_max_participants: int = Field(6, ge=2, le=16)
    realtime_max_message_bytes: int = Field(64 * 1024, ge=1024)
    realtime_room_token_seconds: int = Field(120, ge=10)
    realtime_stun_urls: str = ""
    realtime_turn_urls: str = ""
    realtime_turn_secret: SecretStr | None = None
    realtime_turn_ttl_seconds: int = Field(6 * 3600, ge=60)

    # Consultation response-time targets per urgency: a case is due this long after submission.
    consult_emergency_minutes: int = Field(30, ge=1)
    consult_urgent_minutes: int = Field(120, ge=1)
    consult_routine_minutes: int = Field(24 * 60, ge=1)
    # The timers loop (escalation, session reminders, follow-ups): how often it sweeps; 0 turns it off
    # in this process (another process, or a test that sweeps with an explicit time, does the work).
    consult_timer_seconds: float = Field(30.0, ge=0)
    # Live-session scheduling: slot length, how far ahead slots are offered, reminder lead time.
    consult_slot_minutes: int = Field(30, ge=5, le=240)
    consult_slot_days: int = Field(7, ge=1, le=60)
    consult_reminder_minutes: int = Field(15, ge=1)
    # The network's own zone (kit.clock.local_zone): times on pages, and the calendar days people type
    # and read (licence expiry, a visit's day, report periods); invitations carry UTC.
    display_timezone: str = "Asia/Shanghai"
    # The signed opinion's PDF needs a TrueType font with Chinese glyphs (Debian: fonts-wqy-microhei).
    opinion_cjk_font: Path = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    # After the requester acknowledges an opinion, the outcome follow-up falls due this many days later.
    opinion_follow_up_days: int = Field(30, ge=1, le=365)

    # Remote diagnosis turnaround targets per urgency, from study complete to final report signed.
    # A frozen section (intra-operative pathology) always runs on the STAT target.
    diagnosis_stat_minutes: int = Field(30, ge=1)
    diagnosis_urgent_minutes: int = Field(120, ge=1)
    diagnosis_routine_minutes: int = Field(24 * 60, ge=1)
    # A study is complete when nothing more arrived for this long; the completion loop looks this
    # often (0 turns the loop off in this process; tests complete studies with an explicit time).
    diagnosis_quiet_seconds: float = Field(10.0, ge=0)
    diagnosis_completion_poll_seconds: float = Field(0.5, ge=0)
    # A reader's claim on an order (one reader at a time) runs out after this long unless renewed.
    diagnosis_claim_minutes: int = Field(15, ge=1, le=240)
    # The reading worklist: an unsigned order that has used this share of its turnaround target and
    # that nobody is reading is escalated once (the on-call reader told, the order moved to the top).
    diagnosis_escalation_share: float = Field(0.75, gt=0, le=1)
    # The escalation and breach sweep runs inside the completion loop at most this often; 0 turns it
    # off in this process (with the completion loop off it does not run either).
    diagnosis_sweep_seconds: float = Field(15.0, ge=0)
    # An open worklist page asks this often whether its rows changed (a stamp without patient data)
    # and reloads them only when they did.
    diagnosis_worklist_poll_seconds: float = Field(1.0, ge=0.5, le=60)

    # Test appointments (portal/test_appointments). Patients book blocks from a short while ahead
    # up to `booking_days` days; they may cancel online until `cancel_cutoff_hours` before the block
    # (a refund follows); an unpaid booking holds its place for `payment_hold_minutes`; a reminder
    # with the preparation instructions goes out `reminder_hours` before; a booked patient who has
    # not arrived `no_show_minutes` after the block ended is marked as not come. Categories the
    # patient may book without a doctor's order (comma-separated: lab, ultrasound, x_ray, ct, mri,
    # ecg); a doctor's order is valid for `order_days`.
    test_appointments_booking_days: int = Field(14, ge=1, le=90)
    test_appointments_min_lead_minutes: int = Field(30, ge=0, le=24 * 60)
    test_appointments_cancel_cutoff_hours: float = Field(2.0, ge=0, le=72)
    test_appointments_payment_hold_minutes: int = Field(30, ge=1, le=24 * 60)
    test_appointments_reminder_hours: float = Field(24.0, gt=0, le=72)
    test_appointments_no_show_minutes: int = Field(120, ge=0, le=7 * 24 * 60)
    test_appointments_self_bookable_categories: str = "lab,ultrasound,x_ray,ecg"
    test_appointments_order_days: int = Field(90, ge=1, le=365)

    # Pathology slides. Whole-slide images run to gigabytes, so their upload route has its own body
    # limit (every other route keeps upload_max_bytes).
    pathology_upload_max_bytes: int = Field(4 * 1024**3, ge=1024)
    # OpenSlide needs real file paths: each slide's working copy lives here (default
    # <data_dir>/slides); the blob store stays the record, and a missing copy is rebuilt from it.
    pathology_slide_dir: Path | None = None
    # A plain micrograph is decoded whole into memory to be tiled: refuse larger ones (decompression
    # bombs) before decoding. A whole slide is tiled from its pyramid; its sides are bounded instead.
    pathology_micrograph_max_pixels: int = Field(64_000_000, ge=1_000_000)
    pathology_max_side_pixels: int = Field(400_000, ge=1_000)
    # Open slides (and their Deep Zoom generators) kept per process, least recently used dropped first.
    pathology_open_slides: int = Field(16, ge=1, le=1024)
    pathology_tile_quality: int = Field(80, ge=30, le=95)
    # The longest ECG accepted for upload, in seconds (a resting ECG is 10 s; rhythm strips longer).
    ecg_max_seconds: float = Field(300.0, ge=10, le=3600)

    # Pharmacy (internet-hospital prescriptions). Validity in days by kind: an acute prescription is
    # valid at most 3 days (处方管理办法 第十八条); a chronic one 30 days by default, and a doctor may set
    # up to pharmacy_valid_days_max. Longest supply per line: 7 days acute (第十九条), 12 weeks for a
    # long-term prescription (长期处方管理规范). Refills a chronic prescription may allow.
    pharmacy_valid_days_chronic: int = Field(30, ge=1, le=365)
    pharmacy_valid_days_acute: int = Field(3, ge=1, le=30)
    pharmacy_valid_days_max: int = Field(84, ge=1, le=365)
    pharmacy_supply_days_acute: int = Field(7, ge=1, le=90)
    pharmacy_supply_days_chronic: int = Field(84, ge=1, le=365)
    pharmacy_max_refills: int = Field(5, ge=0, le=12)

    # The DICOM listener (C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET). `carebridge serve` starts it in a
    # child process when enabled; `carebridge dicom` runs it alone. Loopback unless told otherwise.
    dicom_enabled: bool = True
    dicom_ae_title: str = Field("CAREBRIDGE", min_length=1, max_length=16)
    dicom_host: str = "127.0.0.1"
    dicom_port: int = Field(11112, ge=1, le=65535)
    # Largest single DICOM object accepted (listener, STOW-RS, upload); it is held in memory once.
    dicom_max_instance_bytes: int = Field(512 * 1024 * 1024, ge=1024)
    # Largest STOW-RS / upload request body (many instances in one multipart request).
    dicom_max_request_bytes: int = Field(1024 * 1024 * 1024, ge=1024)
    # Most objects in one such request (a body of tiny parts would cost many times its size to split).
    dicom_max_request_parts: int = Field(20_000, ge=1)
    # How many associations the listener serves at once (each a thread), over all its processes.
    dicom_max_associations: int = Field(16, ge=1, le=256)
    # Listener processes accepting on the one port (0: one per CPU core); each serves whole associations.
    dicom_listener_processes: int = Field(0, ge=0, le=64)
    # Web origins (scheme://host[:port], comma-separated) whose pages may call /dicomweb from the
    # browser: a viewer such as OHIF served from another address, sending an API token as a Bearer
    # header. Never with cookies. Empty: no cross-origin access.
    dicomweb_allowed_origins: str = ""

    # Online follow-up visits (portal/visits). The patient may enter the waiting room this many minutes
    # before the start; the reminder goes this long before; an unpaid booking holds its slot this long; a
    # booked patient who has not come this long after the slot's end is a no-show; a visit the doctor never
    # started is cancelled (and refunded) this long after its end. The timers loop sweeps this often (0 turns
    # it off in this process). Patients see slots this many days ahead; one publication spans at most
    # visits_publish_max_days.
    visits_checkin_open_minutes: int = Field(30, ge=0, le=240)
    visits_reminder_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    visits_payment_hold_minutes: int = Field(15, ge=1, le=24 * 60)
    visits_no_show_grace_minutes: int = Field(15, ge=0, le=24 * 60)
    visits_unstarted_grace_minutes: int = Field(120, ge=0, le=7 * 24 * 60)
    visits_timer_seconds: float = Field(30.0, ge=0)
    visits_booking_days: int = Field(14, ge=1, le=90)
    visits_publish_max_days: int = Field(92, ge=1, le=366)
    # Medicine delivery (portal/delivery). Fees in fen. The delivery fee is waived when the drugs
    # come to at least `delivery_free_over_fen` (0: never waived); the cold-chain surcharge applies to
    # a delivered order with any line that must stay cold (pickups need no cold transport).
    delivery_fee_fen: int = Field(1000, ge=0)
    delivery_free_over_fen: int = Field(0, ge=0)
    delivery_cold_chain_fee_fen: int = Field(2000, ge=0)
    # Couriers the pharmacy may hand parcels to, code -> name shown to people (JSON in the environment).
    delivery_couriers: dict[str, str] = {"sf": "顺丰速运", "ems": "中国邮政EMS", "jd": "京东物流"}
    # Per-courier webhook secrets, code -> secret (JSON). A courier without one is refused, except in
    # demo mode, where its secret is derived from the app secret (see `python -m
    # carebridge.portal.delivery.send_event`).
    delivery_courier_secrets: dict[str, SecretStr] = {}
    # A courier event whose signed timestamp is further than this from our clock is refused (replays).
    delivery_webhook_tolerance_seconds: int = Field(300, ge=10, le=3600)
    # Home nursing (portal/home_nursing). Eligibility: age, or a discharge within so many days, or a
    # doctor's order (valid this many days), or a recorded disability.
    nursing_min_age: int = Field(65, ge=0, le=120)
    nursing_discharge_days: int = Field(30, ge=1, le=365)
    nursing_doctor_order_days: int = Field(30, ge=1, le=365)
    # Booking: how far ahead a visit can be booked, and how soon the chosen window may start.
    nursing_booking_days: int = Field(14, ge=1, le=90)
    nursing_booking_lead_minutes: int = Field(60, ge=0, le=24 * 60)
    # Dispatch: an offer not answered in time goes to the next nurse; a nurse's reported position
    # counts while fresh (else their base); nurses farther than the limit are not offered the visit;
    # travel time reserved around each visit when counting a nurse's free time in a window.
    nursing_auto_dispatch: bool = False
    nursing_offer_minutes: int = Field(30, ge=1, le=24 * 60)
    nursing_position_fresh_minutes: int = Field(120, ge=1)
    nursing_max_distance_km: float = Field(50.0, gt=0)
    nursing_travel_minutes: int = Field(30, ge=0, le=240)
    # Check-in farther than this from the patient's pin needs a reason.
    nursing_checkin_radius_m: int = Field(300, ge=20, le=50_000)
    # Cancellation refunds (percent of what was paid): before a nurse accepted it is always in full;
    # these apply once a nurse was offered the visit and once a nurse accepted it. After check-in the
    # visit cannot be cancelled.
    nursing_refund_dispatched_percent: int = Field(100, ge=0, le=100)
    nursing_refund_accepted_percent: int = Field(50, ge=0, le=100)
    # An SOS nobody acknowledged is sent to the coordinators again after this long.
    nursing_sos_reminder_minutes: int = Field(5, ge=1)

    # argon2id: production cost by default; tests lower it (PLATFORM-NOTES: ~155 ms per hash).
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=8)

    session_hours: float = Field(12.0, gt=0)
    login_max_failures: int = Field(5, ge=1)
    login_lockout_minutes: int = Field(15, ge=1)
    break_glass_hours: float = Field(4.0, gt=0)
    upload_max_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    secure_cookies: bool = False

    # Notification channels besides in-app: comma-separated names from console, email, sms.
    # Empty means console in demo mode and none otherwise.
    notify_channels: str = ""
    notify_max_attempts: int = Field(8, ge=1)
    notify_poll_seconds: float = Field(5.0, gt=0)
    notify_link_base: str = ""
    notify_smtp_host: str = ""
    notify_smtp_port: int = Field(587, ge=1, le=65535)
    notify_smtp_user: str = ""
    notify_smtp_password: SecretStr | None = None
    notify_smtp_from: str = ""
    notify_smtp_starttls: bool = True
    notify_smtp_timeout: float = Field(10.0, gt=0)
    notify_sms_url: str = ""
    notify_sms_auth_header: str = "Authorization"
    notify_sms_auth_value: SecretStr | None = None
    notify_sms_timeout: float = Field(10.0, gt=0)

    # Patient accounts of the internet hospital (portal/accounts). One-time sign-in codes: how they
    # reach the phone ("console" writes them to the log, "sms" uses the notifications SMS gateway;
    # empty: sms when CAREBRIDGE_NOTIFY_SMS_URL is set, console in demo mode, otherwise none), how long
    # a code lives, how many tries it allows, and how often one phone / one address may ask for one.
    portal_code_channel: str = ""
    portal_code_minutes: int = Field(5, ge=1, le=30)
    portal_code_attempts: int = Field(5, ge=1, le=10)
    portal_code_resend_seconds: int = Field(60, ge=10)
    portal_code_per_phone_hour: int = Field(5, ge=1)
    portal_code_per_address_hour: int = Field(20, ge=1)
    # The facility that runs the internet hospital: sign-ups hold their patient role there and a
    # master record created at sign-up is registered there. Empty: the first hospital of the highest
    # tier below the national centre.
    portal_facility_code: str = ""
    # Bearer tokens handed to programs (apps) that sign in by phone code.
    portal_token_days: int = Field(30, ge=1, le=365)

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    @field_validator("delivery_couriers")
    @classmethod
    def _courier_codes(cls, value: dict[str, str]) -> dict[str, str]:
        # The code is part of the webhook's URL and of every tracking number's key.
        bad = [code for code in value if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,19}", code)]
        if bad:
            raise ValueError(f"courier codes must be 1-20 lowercase letters, digits or '-': {bad}")
        return value

    @model_validator(mode="after")
    def _courier_secrets(self) -> Settings:
        unknown = sorted(set(self.delivery_courier_secrets) - set(self.delivery_couriers))
        if unknown:
            raise ValueError(f"CAREBRIDGE_DELIVERY_COURIER_SECRETS names couriers not in DELIVERY_COURIERS: {unknown}")
        short = sorted(c for c, s in self.delivery_courier_secrets.items() if len(s.get_secret_value()) < 16)
        if short:
            raise ValueError(f"courier webhook secrets must be at least 16 characters: {short}")
        return self

    @model_validator(mode="after")
    def _fill_paths(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'carebridge.db').as_posix()}"
        if self.blob_dir is None:
            self.blob_dir = self.data_dir / "blobs"
        if self.pathology_slide_dir is None:
            self.pathology_slide_dir = self.data_dir / "slides"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def dicomweb_origins(self) -> list[str]:
        return [_web_origin(origin) for origin in self.dicomweb_allowed_origins.split(",") if origin.strip()]

    @property
    def notify_channel_names(self) -> list[str]:
        names = [name.strip() for name in self.notify_channels.split(",") if name.strip()]
        if not names and self.demo_mode:
            return ["console"]
        return list(dict.fromkeys(names))

    def require_secret(self) -> str:
        """Outside demo mode a real secret is mandatory; in demo mode one is kept in data_dir."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < MIN_SECRET_LENGTH:
                raise ConfigurationError(
                    f"CAREBRIDGE_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters"
                )
            return value
        if not self.demo_mode:
            raise ConfigurationError(
                "CAREBRIDGE_SECRET_KEY is not set. Generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, "
                "or run `carebridge demo` for a demo instance."
            )
        return _demo_secret(self.data_dir)


def _demo_secret(data_dir: Path) -> str:
    import secrets

    path = data_dir / "demo-secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()


def _web_origin(text: str) -> str:
    """`scheme://host[:port]` as a browser sends it in Origin (lower-case host, no default port)."""
    origin = text.strip().rstrip("/")
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username
            or parts.password or parts.path or parts.query or parts.fragment):
        raise ConfigurationError(f"CAREBRIDGE_DICOMWEB_ALLOWED_ORIGINS: {origin!r} is not scheme://host[:port]")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default else "")
