"""The service's settings: one pydantic-settings object, read from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    max_unzipped_bytes: int = Field(
        default=500 * 1024 * 1024,
        ge=1024,
        description="MATCHER_MAX_UNZIPPED_BYTES: largest total size of the files in an "
        "uploaded zip, once extracted (guards against zip bombs).",
    )
    max_errors: int = Field(
        default=200,
        ge=1,
        description="MATCHER_MAX_ERRORS: validation errors listed in a 422 for a dataset.",
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
