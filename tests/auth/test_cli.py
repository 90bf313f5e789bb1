"""`carebridge create-admin` and the refusal of `carebridge serve` to start without a secret, run as
a person would run them: as separate processes with their own data directory."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "carebridge"]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBRIDGE_")}
    env.update({"CAREBRIDGE_DATA_DIR": str(data_dir), "CAREBRIDGE_ARGON2_TIME_COST": "1",
                "CAREBRIDGE_ARGON2_MEMORY_KIB": "8", **extra})
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_create_admin_makes_a_platform_administrator(tmp_path):
    env = _env(tmp_path / "var", CAREBRIDGE_ADMIN_PASSWORD="a-long-admin-password")
    made = _run(["create-admin", "--username", "Root", "--display-name", "Ops"], env, tmp_path)
    assert made.returncode == 0, made.stderr
    assert "created platform administrator 'root'" in made.stdout
    with sqlite3.connect(tmp_path / "var" / "carebridge.db") as conn:
        rows = conn.execute("SELECT u.username, u.display_name, r.role, r.facility_id, u.password_hash "
                            "FROM users u JOIN role_assignments r ON r.user_id = u.id").fetchall()
    assert len(rows) == 1
    username, display_name, role, facility_id, password_hash = rows[0]
    assert (username, display_name, role, facility_id) == ("root", "Ops", "platform_admin", None)
    assert password_hash.startswith("$argon2id$") and "a-long-admin-password" not in password_hash

    again = _run(["create-admin", "--username", "root"], env, tmp_path)
    assert again.returncode == 1
    assert "taken" in again.stderr


def test_create_admin_refuses_a_weak_password(tmp_path):
    env = _env(tmp_path / "var", CAREBRIDGE_ADMIN_PASSWORD="short")
    result = _run(["create-admin", "--username", "root"], env, tmp_path)
    assert result.returncode == 1
    assert "at least 10 characters" in result.stderr


def test_serve_refuses_to_start_without_a_secret_outside_demo_mode(tmp_path):
    result = _run(["serve", "--port", "8765"], _env(tmp_path / "var"), tmp_path)
    assert result.returncode == 2
    assert "CAREBRIDGE_SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "var" / "carebridge.db").exists()  # refused before touching any data


def test_serve_refuses_a_short_secret(tmp_path):
    result = _run(["serve"], _env(tmp_path / "var", CAREBRIDGE_SECRET_KEY="too-short"), tmp_path)
    assert result.returncode == 2
    assert "at least 32 characters" in result.stderr
