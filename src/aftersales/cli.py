"""The `aftersales` command: serve · worker · relay · db · demo · token."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from . import logs
from .config import DEMO_SECRET, ConfigError, Settings, log_format
from .domain.roles import TOKEN_ROLES
from .runtime import Runtime
from .store import migrate, partitions
from .store.database import is_sqlite

if TYPE_CHECKING:
    from .worker.relay import Relay


def _runtime(args: argparse.Namespace) -> Runtime:
    simulated = True if getattr(args, "simulated_clock", False) else None
    return Runtime.build(Settings.from_env(demo=getattr(args, "demo", False), simulated_clock=simulated))


START_PATIENCE = 60.0  # seconds a starting process waits for an unreachable database
WORKER_START_TIMEOUT = 120  # seconds a server process may take to import the app and answer


def _ensure_schema(runtime: Runtime) -> None:
    # A process started while PostgreSQL restarts, or whose first connection is cut, waits for
    # it instead of dying: the service comes back by itself. A database that stays away is an error.
    give_up, delay = time.monotonic() + START_PATIENCE, 0.25
    while True:
        try:
            return _check_schema(runtime)
        except sa.exc.OperationalError as exc:
            if time.monotonic() >= give_up:
                raise ConfigError(f"the database is unreachable: {str(exc.orig).strip()}") from None
            logging.getLogger("aftersales").warning("database unavailable at start-up; retrying: %s", exc.orig)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _check_schema(runtime: Runtime) -> None:
    if is_sqlite(runtime.settings.database_url):
        migrate.upgrade(runtime.engine)  # the embedded default sets itself up
    elif not migrate.is_current(runtime.engine):
        raise ConfigError("the database schema is not current: run `aftersales db upgrade`")
    if runtime.sim_clock is not None:
        runtime.sim_clock.initialise()


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _metrics_dir(data_dir: Path) -> Path:
    """The directory the server processes count their metrics in (PROMETHEUS_MULTIPROC_DIR if
    set, else <data dir>/metrics), emptied of an earlier run's files: they would be summed in."""
    path = Path(os.environ.get(METRICS_DIR_ENV) or data_dir / "metrics")
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return path


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    if args.no_access_log:
        os.environ["AFTERSALES_ACCESS_LOG"] = "false"  # (read by every server process's settings)
    runtime = _runtime(args)
    if args.workers > 1:
        # Each server process counts its metrics in files of this directory and sums them all at
        # a scrape (metrics.py). Set before prometheus_client is first imported (just below, with
        # the app and the worker): the library reads it at import, here and in each process.
        os.environ[METRICS_DIR_ENV] = str(_metrics_dir(runtime.settings.data_dir))

    from .api.app import create_app
    from .api.header_limit import HeaderLimitedProtocol
    from .worker.engine import DeadlineEngine

    _ensure_schema(runtime)
    if args.demo:
        from . import demo

        demo.load(runtime)
        demo.print_tokens(runtime)
    stop = threading.Event()
    if not args.no_worker:
        engine = DeadlineEngine(runtime.engine, runtime.env, _worker_id(), retention=_retention(runtime))
        threading.Thread(target=engine.run_forever, args=(stop,), name="deadline-worker", daemon=True).start()
        _start_payments(runtime, stop)
    if not args.no_relay:
        relay = _relay(runtime, args)
        threading.Thread(target=relay.run_forever, args=(stop,), name="relay", daemon=True).start()

    # uvicorn logs through our root handler (log_config=None), and its access log is replaced by
    # the request line of api/request_context.py.
    common = dict(
        http=HeaderLimitedProtocol, host=args.host, port=args.port, log_level="info", log_config=None, access_log=False
    )
    try:
        if args.workers > 1:
            # Each server process builds its own runtime from the environment; the deadline
            # worker above stays in this supervisor process, so it runs once, not once per process.
            os.environ.update({"AFTERSALES_DEMO": "1"} if args.demo else {})
            os.environ.update({"AFTERSALES_CLOCK": "simulated"} if args.simulated_clock else {})
            # A worker process imports the app before it answers its supervisor's health check:
            # on a busy machine that takes longer than uvicorn's 5 s, and a supervisor that
            # kills and restarts its workers forever never serves at all.
            uvicorn.run(
                "aftersales.api.app:from_env",
                factory=True,
                workers=args.workers,
                timeout_worker_healthcheck=WORKER_START_TIMEOUT,
                **common,
            )
        else:
            uvicorn.run(create_app(runtime), **common)
    finally:
        stop.set()


def cmd_worker(args: argparse.Namespace) -> None:
    from .worker.engine import DeadlineEngine

    runtime = _runtime(args)
    _ensure_schema(runtime)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    engine = DeadlineEngine(
        runtime.engine,
        runtime.env,
        _worker_id(),
        batch_size=args.batch,
        lease=timedelta(seconds=args.lease),
        retention=_retention(runtime),
    )
    _start_payments(runtime, stop)
    engine.run_forever(stop, poll_seconds=args.poll)


def _retention(runtime: Runtime) -> partitions.Retention:
    s = runtime.settings
    return partitions.Retention(s.events_retention_months, s.outbox_retention_months, streamed=s.stream != "none")


def _start_payments(runtime: Runtime, stop: threading.Event) -> None:
    """The payments loop beside the deadline worker: refunds decided are submitted to the provider."""
    from .worker.payments import PaymentsLoop

    loop = PaymentsLoop(runtime.engine, runtime.env, runtime.payments)
    threading.Thread(target=loop.run_forever, args=(stop,), name="payments-loop", daemon=True).start()


def _relay(runtime: Runtime, args: argparse.Namespace) -> Relay:
    from .integrations import streams
    from .worker.relay import Relay

    return Relay(
        runtime.engine,
        runtime.env,
        allow_private=runtime.settings.webhook_allow_private,
        stream=streams.from_settings(runtime.settings),  # None unless AFTERSALES_STREAM names one
        batch_size=getattr(args, "batch", 500),
        pool_size=getattr(args, "senders", 8),
        lease=timedelta(seconds=getattr(args, "lease", 60.0)),
        timeout=getattr(args, "timeout", 10.0),
    )


def cmd_relay(args: argparse.Namespace) -> None:
    runtime = _runtime(args)
    _ensure_schema(runtime)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    _relay(runtime, args).run_forever(stop, poll_seconds=args.poll)


def cmd_db(args: argparse.Namespace) -> None:
    runtime = Runtime.build(Settings.from_env(secret_required=False))  # schema work needs no token secret
    migrate.upgrade(runtime.engine)
    print(f"schema is current on {runtime.engine.url.render_as_string(hide_password=True)}")


def cmd_demo(args: argparse.Namespace) -> None:
    from . import demo

    runtime = _runtime(args)
    _ensure_schema(runtime)
    demo.load(runtime)
    demo.print_tokens(runtime)


def cmd_token(args: argparse.Namespace) -> None:
    from .api.auth import mint
    from .domain.clock import SystemClock

    if args.role == "merchant" and not args.merchant_id:
        args.parser.error("--role merchant needs --merchant-id (the shop the token acts for)")
    settings = Settings.from_env(demo=args.demo, secret_required=False)
    if settings.jwt_secret is None:
        raise ConfigError("AFTERSALES_JWT_SECRET is unset: HS256 is off and tokens come from the marketplace's IdP")
    if settings.jwt_secret == DEMO_SECRET:
        print(
            "aftersales: AFTERSALES_JWT_SECRET is not set: signed with the public demo secret, "
            "which only a server in demo mode (aftersales serve --demo) accepts",
            file=sys.stderr,
        )
    print(
        mint(
            settings.jwt_secret,
            sub=args.sub,
            role=args.role,
            merchant_id=args.merchant_id,
            now=SystemClock().now(),
            ttl=timedelta(hours=args.hours),
        )
    )


def cmd_audit(args: argparse.Namespace) -> None:
    """Replay every subject from its events; exit 1 listing what does not match the stored rows."""
    from .services import audit

    runtime = Runtime.build(Settings.from_env(secret_required=False))  # reading needs no token secret
    with runtime.uow() as uow:
        problems = audit.verify_all(uow)
    for problem in problems:
        print(problem)
    if problems:
        print(f"aftersales audit: {len(problems)} mismatches", file=sys.stderr)
        sys.exit(1)
    print("every order, case, dispute, complaint and review replays from its events")


def cmd_storage(args: argparse.Namespace) -> None:
    from .services import evidence

    runtime = Runtime.build(Settings.from_env(secret_required=False))
    _check_schema(runtime)
    grace = timedelta(minutes=args.grace_minutes)
    with runtime.uow() as uow:
        gone = evidence.sweep(uow, runtime.env, grace=grace)
    for key in gone:
        print(key)
    print(f"swept {len(gone)} stored objects no evidence references (older than {grace})", file=sys.stderr)


def cmd_machines(args: argparse.Namespace) -> None:
    from .domain.machine import describe
    from .services.kinds import KINDS

    print(MACHINES_HEADER + "\n".join(describe(k.machine, k.kind.deadlines) for k in KINDS.values()), end="")


def cmd_actions(args: argparse.Namespace) -> None:
    from .domain.machine import describe_actions
    from .services.kinds import KINDS

    print(ACTIONS_HEADER + "\n".join(describe_actions(k.machine, k.resource) for k in KINDS.values()), end="")


ACTIONS_HEADER = """# Actions

Generated by `aftersales actions` from the action specs in `src/aftersales/domain/` (the same
specs the API's request models, the OpenAPI document and the audit replay are built from); a
test fails when this file and the specs disagree. Actions of `system` are fired by the deadline
engine; the others are `POST` requests whose JSON body holds the request fields.

"""


MACHINES_HEADER = """# State machines

Generated by `aftersales machines` from the transition tables in `src/aftersales/domain/`;
a test fails when this file and the tables disagree. `system` actions are fired by the
deadline engine when the policy timer of the status lapses.

"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aftersales", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo_help = "demo mode: use the demo token secret when AFTERSALES_JWT_SECRET is unset (refused in production)"
    clock_help = "time moves only via POST /v1/admin/clock (refused in production)"

    serve = sub.add_parser("serve", help="serve the API and console (and a deadline worker with the payments loop)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    serve.add_argument(
        "--no-worker", action="store_true", help="do not run the deadline worker and payments loop in-process"
    )
    serve.add_argument("--no-relay", action="store_true", help="do not run the webhook relay in-process")
    serve.add_argument("--workers", type=int, default=1, help="server processes (uvicorn workers; default: 1)")
    serve.add_argument(
        "--no-access-log", action="store_true", help="do not log a line per request (AFTERSALES_ACCESS_LOG=false)"
    )
    serve.add_argument("--demo", action="store_true", help="load demo data and print tokens; " + demo_help)
    serve.add_argument("--simulated-clock", action="store_true", help=clock_help)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run a deadline worker and a payments loop (any number, on PostgreSQL)")
    worker.add_argument("--batch", type=int, default=500, help="deadlines fired per transaction (default: 500)")
    worker.add_argument(
        "--lease",
        type=float,
        default=30.0,
        help="seconds a worker may hold a batch before PostgreSQL ends its transaction (default: 30)",
    )
    worker.add_argument("--poll", type=float, default=1.0, help="seconds to wait when nothing is due (default: 1)")
    worker.add_argument("--demo", action="store_true", help=demo_help)
    worker.add_argument("--simulated-clock", action="store_true", help=clock_help)
    worker.set_defaults(func=cmd_worker)

    relay = sub.add_parser(
        "relay", help="run a webhook relay: outbox to endpoints and stream (any number, on PostgreSQL)"
    )
    relay.add_argument("--batch", type=int, default=500, help="outbox rows fanned out per transaction (default: 500)")
    relay.add_argument("--senders", type=int, default=8, help="deliveries sent at once (default: 8)")
    relay.add_argument(
        "--lease",
        type=float,
        default=60.0,
        help="seconds a relay holds a delivery it sends before another may take it (default: 60)",
    )
    relay.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per attempt's connect and read (default: 10)"
    )
    relay.add_argument(
        "--poll", type=float, default=0.2, help="seconds to wait when there is nothing to do (default: 0.2)"
    )
    relay.add_argument("--demo", action="store_true", help=demo_help)
    relay.add_argument("--simulated-clock", action="store_true", help=clock_help)
    relay.set_defaults(func=cmd_relay)

    db = sub.add_parser("db", help="schema")
    db.add_argument("action", choices=["upgrade"], help="upgrade: create or migrate the schema to the current one")
    db.set_defaults(func=cmd_db)

    demo = sub.add_parser("demo", help="load the demo marketplace and print tokens")
    demo.add_argument("--simulated-clock", action="store_true", help=clock_help)
    demo.set_defaults(func=cmd_demo, demo=True)

    storage = sub.add_parser("storage", help="evidence storage upkeep")
    storage.add_argument(
        "action",
        choices=["sweep"],
        help="sweep: delete stored objects no evidence row references (an upload that died before its commit)",
    )
    storage.add_argument(
        "--grace-minutes",
        type=float,
        default=60,
        help="leave objects younger than this alone: uploads still in flight (default: %(default)s)",
    )
    storage.set_defaults(func=cmd_storage)

    machines = sub.add_parser("machines", help="print the state machines as Markdown (docs/state-machines.md)")
    machines.set_defaults(func=cmd_machines)
    actions = sub.add_parser(
        "actions", help="print every action's labels and request fields as Markdown (docs/actions.md)"
    )
    actions.set_defaults(func=cmd_actions)

    audit = sub.add_parser("audit", help="replay every subject from its events and list mismatches (exit 1)")
    audit.set_defaults(func=cmd_audit)

    token = sub.add_parser(
        "token",
        help="mint a bearer token",
        description="Mint a bearer token signed with AFTERSALES_JWT_SECRET; outside production, with the "
        "demo secret when it is unset (said on stderr).",
    )
    token.add_argument(
        "--role",
        required=True,
        choices=TOKEN_ROLES,
        help="the caller's role",
    )
    token.add_argument("--sub", required=True, help="the caller's id (e.g. b-1, m-1-staff, agent-1)")
    token.add_argument("--merchant-id", help="the shop a merchant token acts for (required with --role merchant)")
    token.add_argument("--hours", type=float, default=12, help="hours until the token expires (default: 12)")
    token.add_argument(
        "--demo", action="store_true", help="sign with the demo secret when AFTERSALES_JWT_SECRET is unset"
    )
    token.set_defaults(func=cmd_token, parser=token)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        logs.configure(log_format(os.environ))
        args.func(args)
    except ConfigError as exc:
        print(f"aftersales: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
