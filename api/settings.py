"""The service's settings: one pydantic-settings object, read from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Every setting of the planner service.

    Each field is read from the environment variable named in its description
    (``MATCHER_`` + the field name in capitals, except ``DATABASE_URL``); keyword
    arguments given to the constructor win over the environment.
    """

    model_config = SettingsConfigDict(
        env_prefix="MATCHER_", populate_by_name=True, extra="ignore", frozen=True
    )

    database_url: str = Field(
        default="sqlite:///./matcher.db",
        validation_alias=AliasChoices("DATABASE_URL", "MATCHER_DATABASE_URL", "database_url"),
        description="DATABASE_URL: the SQLAlchemy URL of the store. Default a SQLite file "
        "./matcher.db (WAL mode); for PostgreSQL use "
        "postgresql+psycopg://USER@HOST:5432/DBNAME.",
    )
    host: str = Field(default="127.0.0.1", description="MATCHER_HOST: address to listen on.")
    port: int = Field(default=8000, ge=0, le=65535, description="MATCHER_PORT: TCP port.")
    max_concurrent_runs: int = Field(
        default=1,
        ge=1,
        le=64,
        description="MATCHER_MAX_CONCURRENT_RUNS: solves running at once, each in its own "
        "worker process; further runs wait in the queue.",
    )
    run_time_limit_s: float = Field(
        default=600.0,
        gt=0,
        description="MATCHER_RUN_TIME_LIMIT_S: wall seconds a run may take from start to "
        "finish before its worker is stopped and the run marked failed. A run may ask "
        "for less (time_limit_s in POST /runs), never more.",
    )
    max_body_bytes: int = Field(
        default=50 * 1024 * 1024,
        ge=1024,
        description="MATCHER_MAX_BODY_BYTES: largest request body accepted; larger bodies "
        "get HTTP 413.",
    )
    rate_limits: bool = Field(
        default=True,
        description="MATCHER_RATE_LIMITS: whether the three rate limits below apply (429 "
        "with Retry-After past them); false turns them all off (load tests, fuzzing).",
    )
    rate_limit_per_key: str = Field(
        default="600/minute",
        description="MATCHER_RATE_LIMIT_PER_KEY: requests one API key may make, as the "
        "limits library writes it ('600/minute', '20/second;600/minute').",
    )
    rate_limit_per_address: str = Field(
        default="1200/minute",
        description="MATCHER_RATE_LIMIT_PER_ADDRESS: requests one client address may make, "
        "keyed or not, open routes included.",
    )
    rate_limit_failed_auth: str = Field(
        default="30/minute",
        description="MATCHER_RATE_LIMIT_FAILED_AUTH: unknown, revoked or unreadable keys one "
        "client address may send; past it every keyed request from that address gets 429 "
        "until the window frees up (a correct guess could not be told from a wrong one).",
    )
    rate_limit_objections: str = Field(
        default="10/minute;50/day",
        description="MATCHER_RATE_LIMIT_OBJECTIONS: objections to a public notice one client "
        "address may file (no key is needed to file one).",
    )
    rate_limit_ratings: str = Field(
        default="20/minute;200/day",
        description="MATCHER_RATE_LIMIT_RATINGS: residents' ratings one client address may "
        "send (each needs a token; the limit slows the guessing of tokens).",
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="MATCHER_RATE_LIMIT_STORAGE: where the limits library counts requests "
        "(memory:// in the server process; a limits storage URI such as "
        "redis://host:6379, with its client package installed, to share the counts).",
    )
    rate_limit_sign_in: str = Field(
        default="20/minute;200/hour",
        description="MATCHER_RATE_LIMIT_SIGN_IN: console sign-in attempts one client "
        "address may make, right or wrong (each costs an Argon2 hash); past it 429.",
    )
    sign_in_lock_after: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="MATCHER_SIGN_IN_LOCK_AFTER: wrong passwords in a row that lock an "
        "account (from any address) for MATCHER_SIGN_IN_LOCK_S seconds.",
    )
    sign_in_lock_s: int = Field(
        default=900,
        ge=1,
        description="MATCHER_SIGN_IN_LOCK_S: how long a locked account stays locked; an "
        "admin may unlock it sooner (matcher create-user --reset, or the users page).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="MATCHER_SECRET_KEY: the key that signs the console's session cookies "
        "and form tokens (at least 32 characters). Default a random key made once and kept "
        "in the store (table service_secrets), so that every server process of one store "
        "signs alike and a restart ends no session; setting it (or changing it) ends every "
        "session signed with the previous one.",
    )
    session_max_age_s: int = Field(
        default=12 * 3600,
        ge=60,
        le=30 * 24 * 3600,
        description="MATCHER_SESSION_MAX_AGE_S: seconds a console session lasts from sign-in "
        "(then the sign-in page again).",
    )
    secure_cookies: bool = Field(
        default=False,
        description="MATCHER_SECURE_COOKIES: mark the console's cookies Secure (sent over "
        "HTTPS only). Turn it on whenever the console is served over HTTPS, as it should be "
        "anywhere but the local machine.",
    )
    password_memory_kib: int = Field(
        default=19 * 1024,
        ge=8 * 1024,
        le=256 * 1024,
        description="MATCHER_PASSWORD_MEMORY_KIB: the memory one Argon2id password hash takes "
        "(KiB; OWASP's minimum 19 MiB with 2 passes). At most MATCHER_PASSWORD_HASHES_AT_ONCE "
        "hashes run at once, so signing in can never take more than their product.",
    )
    password_hashes_at_once: int = Field(
        default=2,
        ge=1,
        le=64,
        description="MATCHER_PASSWORD_HASHES_AT_ONCE: password hashes computed at once in "
        "one server process; further sign-ins wait their turn.",
    )
    display_timezone: str = Field(
        default="Asia/Shanghai",
        description="MATCHER_DISPLAY_TIMEZONE: the time zone in which pages show dates and "
        "times (the store keeps UTC).",
    )

    @field_validator("display_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        """A time zone the system knows (a typo fails at start-up)."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"not a time zone such as 'Asia/Shanghai': {value!r}") from None
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        """A key long enough to sign with."""
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError(
                "at least 32 characters (python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')"
            )
        return value

    max_queued_runs_per_key: int = Field(
        default=20,
        ge=0,
        description="MATCHER_MAX_QUEUED_RUNS_PER_KEY: plan and recommendation runs one key "
        "may have queued at once; another POST /runs or /recommendations gets 429 with "
        "Retry-After. 0: no cap.",
    )

    @field_validator(
        "rate_limit_per_key",
        "rate_limit_per_address",
        "rate_limit_failed_auth",
        "rate_limit_objections",
        "rate_limit_ratings",
        "rate_limit_sign_in",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        """A rate the limits library reads; a typo fails at start-up, not per request."""
        import limits

        try:
            limits.parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate such as '600/minute': {exc}") from None
        return value

    max_unzipped_bytes: int = Field(
        default=500 * 1024 * 1024,
        ge=1024,
        description="MATCHER_MAX_UNZIPPED_BYTES: largest total of the bytes an uploaded "
        "zip's tables unpack to, counted while they are decompressed (whatever the zip's "
        "headers claim); past it the upload gets HTTP 413.",
    )
    max_file_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="MATCHER_MAX_FILE_BYTES: largest size of one uploaded table once "
        "unpacked (a CSV file's bytes, a Parquet file's decoded cells); past it HTTP 413.",
    )
    max_columns: int = Field(
        default=1000,
        ge=16,
        description="MATCHER_MAX_COLUMNS: most columns one uploaded table may have (names "
        "on a CSV header, fields of a Parquet file, keys of JSON rows); checked before the "
        "file is parsed, past it HTTP 422 naming the file.",
    )
    max_line_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="MATCHER_MAX_LINE_BYTES: longest line of an uploaded CSV file (and "
        "longest text in a JSON cell); checked while the file is unpacked, past it HTTP "
        "422 naming the file and line.",
    )
    max_unzip_ratio: int = Field(
        default=100,
        ge=2,
        description="MATCHER_MAX_UNZIP_RATIO: how many times its compressed size an "
        "uploaded file (past its first MiB) may unpack to; real tables reach about 10, "
        "zip bombs hundreds. Past it HTTP 413.",
    )
    upload_dir: str | None = Field(
        default=None,
        description="MATCHER_UPLOAD_DIR: the folder uploads are unpacked in (each in a "
        "matcher-upload-* folder of its own, removed when the request ends, and left-overs "
        "of a killed server removed when it starts). Default a folder named after the "
        "database in the system's temporary folder.",
    )
    max_errors: int = Field(
        default=200,
        ge=1,
        description="MATCHER_MAX_ERRORS: validation errors listed in a 422 for a dataset.",
    )
    max_concurrent_reads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="MATCHER_MAX_CONCURRENT_READS: expensive reads computed at once, each in "
        "its own worker process (a report against another run, a demand's explanation, or "
        "the report and explanations of a run stored before they were kept); a read beyond "
        "them gets HTTP 503 with Retry-After. Reads already in the store are not counted.",
    )
    read_memory_mb: int = Field(
        default=6144,
        ge=64,
        description="MATCHER_READ_MEMORY_MB: memory (MiB) computing a run's expensive reads "
        "may take in its worker process beyond what the process holds already; past it the "
        "read is refused (HTTP 409, too_large) instead of the machine running out. The "
        "bottlenecks of a very large city need more than the default (they list every "
        "candidate arc); its summaries then leave out the bottleneck sentence.",
    )
    read_time_limit_s: float = Field(
        default=300.0,
        gt=0,
        description="MATCHER_READ_TIME_LIMIT_S: wall seconds an expensive read may compute "
        "(in its worker process, or in a run's worker once the plan is stored) before it is "
        "stopped; the read then gets HTTP 503.",
    )
    dispatch_interval_s: float = Field(
        default=0.2,
        gt=0,
        le=10,
        description="MATCHER_DISPATCH_INTERVAL_S: how often the dispatcher looks for queued "
        "runs, cancellations and time limits.",
    )
    engine: Literal["local", "ray"] = Field(
        default="local",
        description="MATCHER_ENGINE: where a plan run's labour flow is solved: local (in "
        "the run's worker process) or ray (its independent parts, several cities in one "
        "dataset say, as Ray tasks; the same objective). Runs with integer rules (min_hours, "
        "funds, lead options, a community limit or a coverage floor) couple the parts and "
        "are solved in the worker process whatever this says; recommendation runs too.",
    )
    ray_address: str | None = Field(
        default=None,
        description="MATCHER_RAY_ADDRESS: the Ray cluster of engine ray (ray://host:10001 "
        "or host:6379). Default RAY_ADDRESS, else a local Ray started by each run's worker "
        "for that run (slow to start: give a cluster for real use).",
    )
    log_level: str = Field(
        default="info", description="MATCHER_LOG_LEVEL: uvicorn's log level (debug, info ...)."
    )


def get_settings() -> Settings:
    """The settings from the environment (a fresh object on each call)."""
    return Settings()
