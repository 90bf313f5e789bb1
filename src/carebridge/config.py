"""The one validated Settings object (env prefix CAREBRIDGE_). Every field is documented in
docs/operations.md."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
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
    # Times on pages (slot pickers) are shown in this IANA zone; invitations carry UTC.
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
    # How many associations the listener serves at once (each a thread), over all its processes.
    dicom_max_associations: int = Field(16, ge=1, le=256)
    # Listener processes accepting on the one port (0: one per CPU core); each serves whole associations.
    dicom_listener_processes: int = Field(0, ge=0, le=64)

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

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

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
