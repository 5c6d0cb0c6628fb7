"""What an operator meets first: `aftersales` refusing a production set-up that is not one (demo
mode, the public demo secret, the simulated clock, a short secret, an unknown AFTERSALES_ENV)
with one line and a non-zero exit, and the token command working as the README shows it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from aftersales.cli import build_parser
from aftersales.config import DEMO_SECRET, ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
GOOD = "a-production-secret-of-32-bytes!"  # exactly 32 bytes
assert len(GOOD.encode()) == 32
# `--port 0`: a command the check fails to refuse binds a free port instead of colliding.
COMMANDS = {
    "serve": ["serve", "--port", "0", "--no-access-log"],
    "worker": ["worker"],
    "demo": ["demo"],
    "token": ["token", "--role", "buyer", "--sub", "b-1"],
    "db upgrade": ["db", "upgrade"],
}


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    clean.update(AFTERSALES_DATA_DIR=str(tmp_path), **env)
    try:
        return subprocess.run(
            [sys.executable, "-m", "aftersales.cli", *args],
            env=clean,
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`aftersales {' '.join(args)}` kept running instead of refusing: {exc.stderr!r}")


def _refused(result: subprocess.CompletedProcess[str], reason: str) -> None:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aftersales: "), result.stderr
    assert reason in lines[0], lines[0]
    assert result.stdout == "", "a refused command prints no token or data"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_production_refuses_a_secret_shorter_than_32_bytes(command, tmp_path):
    result = _run(COMMANDS[command], tmp_path, AFTERSALES_ENV="production", AFTERSALES_JWT_SECRET=GOOD[:31])
    # `aftersales demo` is demo mode, refused in production before its secret is looked at.
    _refused(result, "demo mode" if command == "demo" else "at least 32 bytes")


@pytest.mark.parametrize("command", ["serve", "worker", "token", "db upgrade"])
def test_production_refuses_the_public_demo_secret(command, tmp_path):
    result = _run(COMMANDS[command], tmp_path, AFTERSALES_ENV="production", AFTERSALES_JWT_SECRET=DEMO_SECRET)
    _refused(result, "demo secret")


@pytest.mark.parametrize("command", ["serve", "worker", "token", "db upgrade"])
def test_production_requires_a_secret(command, tmp_path):
    _refused(_run(COMMANDS[command], tmp_path, AFTERSALES_ENV="production"), "AFTERSALES_JWT_SECRET is required")


@pytest.mark.parametrize(
    "spelling, args, env",
    [
        ("production", ["serve", "--demo", "--port", "0"], {}),
        ("Production", ["serve", "--demo", "--port", "0"], {}),
        ("PRODUCTION", ["demo"], {}),
        (" production ", ["worker", "--demo"], {}),
        ("Production", ["token", "--demo", "--role", "buyer", "--sub", "b-1"], {}),
        ("production", ["serve", "--port", "0"], {"AFTERSALES_DEMO": "1"}),
        ("PRODUCTION", ["db", "upgrade"], {"AFTERSALES_DEMO": "1"}),
    ],
)
def test_production_in_any_case_refuses_demo_mode(spelling, args, env, tmp_path):
    result = _run(args, tmp_path, AFTERSALES_ENV=spelling, AFTERSALES_JWT_SECRET=GOOD, **env)
    _refused(result, "demo mode")


@pytest.mark.parametrize(
    "spelling, args, env",
    [
        ("production", ["serve", "--simulated-clock", "--port", "0"], {}),
        ("Production", ["serve", "--port", "0"], {"AFTERSALES_CLOCK": "simulated"}),
        ("PRODUCTION", ["worker", "--simulated-clock"], {}),
        ("production", ["worker"], {"AFTERSALES_CLOCK": "simulated"}),
        ("production", ["db", "upgrade"], {"AFTERSALES_CLOCK": "simulated"}),
    ],
)
def test_production_refuses_the_simulated_clock(spelling, args, env, tmp_path):
    result = _run(args, tmp_path, AFTERSALES_ENV=spelling, AFTERSALES_JWT_SECRET=GOOD, **env)
    _refused(result, "simulated clock")


@pytest.mark.parametrize(
    "value, command",
    [("prod", "serve"), ("staging", "worker"), ("Prod", "demo"), ("productoin", "token"), ("dev", "db upgrade")],
)
def test_an_unknown_environment_is_refused_not_taken_for_development(value, command, tmp_path):
    result = _run(COMMANDS[command], tmp_path, AFTERSALES_ENV=value, AFTERSALES_JWT_SECRET=GOOD)
    _refused(result, "AFTERSALES_ENV must be one of development, test, production")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_unknown_log_format_is_refused(command, tmp_path):
    result = _run(COMMANDS[command], tmp_path, AFTERSALES_LOG_FORMAT="xml", AFTERSALES_JWT_SECRET=GOOD)
    _refused(result, "AFTERSALES_LOG_FORMAT must be json or console")


def test_production_with_a_real_secret_migrates_and_mints(tmp_path):
    upgraded = _run(["db", "upgrade"], tmp_path, AFTERSALES_ENV="Production", AFTERSALES_JWT_SECRET=GOOD)
    assert upgraded.returncode == 0 and "schema is current" in upgraded.stdout, upgraded
    minted = _run(COMMANDS["token"], tmp_path, AFTERSALES_ENV="production", AFTERSALES_JWT_SECRET=GOOD)
    assert minted.returncode == 0 and minted.stderr == "", minted
    assert jwt.decode(minted.stdout.strip(), GOOD, algorithms=["HS256"])["sub"] == "b-1"


@pytest.mark.parametrize("value", ["", "development", "Development", "TEST", "test"])
def test_the_known_environments_outside_production_allow_demo_and_the_simulated_clock(value):
    settings = Settings.from_env({"AFTERSALES_ENV": value, "AFTERSALES_CLOCK": "simulated"}, demo=True)
    assert settings.demo and settings.simulated_clock and settings.jwt_secret == DEMO_SECRET


def test_settings_refuse_production_mistakes_in_process():
    for env, reason in [
        ({"AFTERSALES_ENV": "PRODUCTION", "AFTERSALES_JWT_SECRET": GOOD, "AFTERSALES_DEMO": "1"}, "demo mode"),
        ({"AFTERSALES_ENV": "production", "AFTERSALES_JWT_SECRET": "x" * 31}, "32 bytes"),
        ({"AFTERSALES_ENV": "prod", "AFTERSALES_JWT_SECRET": GOOD}, "AFTERSALES_ENV"),
    ]:
        with pytest.raises(ConfigError, match=reason):
            Settings.from_env(env)
    # Bytes, not characters: 11 three-byte characters are 33 bytes.
    assert Settings.from_env({"AFTERSALES_ENV": "production", "AFTERSALES_JWT_SECRET": "售" * 11}).jwt_secret


# --- aftersales token ---------------------------------------------------------------------------


def test_token_as_documented_uses_the_demo_secret_outside_production_and_says_so(tmp_path):
    result = _run(["token", "--role", "buyer", "--sub", "b-1"], tmp_path)
    assert result.returncode == 0, result
    claims = jwt.decode(result.stdout.strip(), DEMO_SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"]) == ("b-1", "buyer")
    assert "demo secret" in result.stderr and "Traceback" not in result.stderr


def test_token_signs_with_the_configured_secret_silently(tmp_path):
    result = _run(["token", "--role", "agent", "--sub", "agent-1"], tmp_path, AFTERSALES_JWT_SECRET=GOOD)
    assert result.returncode == 0 and result.stderr == "", result
    assert jwt.decode(result.stdout.strip(), GOOD, algorithms=["HS256"])["role"] == "agent"


def test_a_merchant_token_without_its_shop_is_a_usage_error(tmp_path):
    result = _run(["token", "--role", "merchant", "--sub", "m-1-staff"], tmp_path, AFTERSALES_JWT_SECRET=GOOD)
    assert result.returncode == 2 and result.stdout == "", result
    assert "usage: aftersales token" in result.stderr and "--merchant-id" in result.stderr.splitlines()[-1]
    minted = _run(
        ["token", "--role", "merchant", "--sub", "m-1-staff", "--merchant-id", "m-1"],
        tmp_path,
        AFTERSALES_JWT_SECRET=GOOD,
    )
    assert jwt.decode(minted.stdout.strip(), GOOD, algorithms=["HS256"])["merchant_id"] == "m-1"


# --- help and make run ----------------------------------------------------------------------------


def test_every_option_of_every_command_has_help():
    parser = build_parser()
    (commands,) = (a for a in parser._actions if a.dest == "command")
    missing = [
        f"aftersales {name} {action.option_strings[0] if action.option_strings else action.dest}"
        for name, sub in commands.choices.items()
        for action in sub._actions
        if action.help is None
    ]
    assert missing == []
    shown = _run(["serve", "--help"], Path("."))
    assert "address to listen on" in shown.stdout and "load demo data" in shown.stdout, shown.stdout


def test_make_run_takes_a_port_and_a_host():
    planned = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "run", "PORT=8080", "HOST=0.0.0.0"], capture_output=True, text=True, check=True
    ).stdout
    assert "aftersales serve --demo --host 0.0.0.0 --port 8080" in planned, planned
    default = subprocess.run(["make", "-n", "-C", str(ROOT), "run"], capture_output=True, text=True, check=True).stdout
    assert "--host 127.0.0.1 --port 8000" in default, default


def test_token_refuses_to_mint_when_hs256_is_off(tmp_path):
    # Production with the IdP's keys and no shared secret: HS256 is off, so nothing to sign with.
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    idp = {
        "AFTERSALES_JWKS_FILE": str(jwks),
        "AFTERSALES_JWT_ISSUER": "https://id.example",
        "AFTERSALES_JWT_AUDIENCE": "a",
    }
    _refused(_run(COMMANDS["token"], tmp_path, AFTERSALES_ENV="production", **idp), "HS256 is off")
    # Outside production the demo secret still mints (for a server in demo mode), and says so.
    result = _run(COMMANDS["token"], tmp_path, **idp)
    assert result.returncode == 0 and "demo secret" in result.stderr, result
