"""The `socmon` command. Every step that the DAGs run can be run by hand from here."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path

log = logging.getLogger("socmon")


def _db(args: argparse.Namespace) -> int:
    from socmon.warehouse import server

    if args.action == "up":
        server.up()
        print(server.where())
    elif args.action == "init":  # an external server (production): roles, schemas and raw tables
        from socmon.warehouse.roles import ensure_database

        ensure_database(server.credentials())
        print(server.where())
    elif args.action == "down":
        server.down()
    else:
        print(server.url(args.role))
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from socmon.sources.files import ingest_files

    totals = ingest_files([Path(f) for f in args.files], platform=args.platform, topic_id=args.topic_id)
    print(f"loaded {totals.loaded} new, {totals.duplicates} already there, {totals.rejected} rejected")
    for damage in totals.damaged:  # what precedes the damage is loaded; the tail is in raw.rejected
        print(f"ingest incomplete: {damage}", file=sys.stderr)
    return 1 if totals.damaged else 0


def _quarantine(args: argparse.Namespace) -> int:
    from socmon.warehouse.quarantine import print_quarantine

    print_quarantine(since=args.since)
    return 0


def _extract(args: argparse.Namespace) -> int:
    from socmon.sources import extract_all

    until = args.until or datetime.now().astimezone()
    totals = extract_all(platform=args.platform, since=args.since, until=until)
    print(f"loaded {totals.loaded} new, {totals.duplicates} already there, {totals.rejected} rejected")
    return 0


def _transform(args: argparse.Namespace) -> int:
    from socmon.transform import build

    build(select=args.select, full_refresh=args.full_refresh)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from socmon.period import report_period
    from socmon.quality.gate import run_gate

    result = run_gate(period=report_period(args.period, args.date) if args.date else None)
    print(result.summary())
    return 0 if result.success else 1


def _export(args: argparse.Namespace) -> int:
    from socmon.reports.export import GateFailed, export_if_gate_passes

    try:
        paths = export_if_gate_passes(args.period, args.date)
    except GateFailed as failed:
        print(failed.result.summary(), file=sys.stderr)
        print(
            f"export refused: the quality gate failed for {failed.result.period}, no file was written",
            file=sys.stderr,
        )
        return 1
    for path in paths:
        print(path)
    return 0


def _deliver(args: argparse.Namespace) -> int:
    from socmon.reports.delivery import publish

    outcome = publish(args.period, args.date, conn_id=args.conn_id)
    print(outcome.summary())
    return 1 if outcome.held else 0


def _require_sandbox() -> None:
    """The demo and `socmon sandbox` need the sandbox package, which `make setup` installs for
    development and the production image leaves out."""
    import importlib.util

    if importlib.util.find_spec("socmon_sandbox") is None:
        raise SystemExit(
            "the sandbox package (socmon_sandbox) is not installed: it ships for development only; "
            "`make setup` installs it"
        )


def _forget(args: argparse.Namespace) -> int:
    from socmon.warehouse.erasure import forget

    result = forget(
        args.platform,
        author_id=args.author_id,
        message_key=args.message_key,
        requested_by=args.by,
        reference=args.reference,
    )
    print(result.summary())
    return 0


def _demo(args: argparse.Namespace) -> int:
    _require_sandbox()
    from socmon.demo import run_demo

    return run_demo(days=args.days)


def _eval(args: argparse.Namespace) -> int:
    from socmon.evaluation import run_evaluation

    return run_evaluation(
        [Path(p) for p in args.sets] or None,
        show_errors=args.show_errors,
        negative_share=args.negative_share,
    )


def _train_classifier(args: argparse.Namespace) -> int:
    from socmon.report_model import run_training

    return run_training(Path(args.development_set) if args.development_set else None)


def _sandbox(args: argparse.Namespace) -> int:
    _require_sandbox()
    from socmon_sandbox.server import serve_forever

    serve_forever(port=args.port)
    return 0


def _pools(args: argparse.Namespace) -> int:
    from socmon.orchestration import POOLS, ensure_pools

    ensure_pools(dict(os.environ))
    print("Airflow pools: " + ", ".join(f"{name} ({slots} slots)" for name, (slots, _) in POOLS.items()))
    return 0


def _sources(args: argparse.Namespace) -> int:
    from socmon.sources.registry import print_sources

    print_sources()
    return 0


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.astimezone()


def build_parser() -> argparse.ArgumentParser:
    from socmon.warehouse.server import ROLES

    parser = argparse.ArgumentParser(prog="socmon", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the embedded Postgres warehouse")
    db.add_argument("action", choices=["up", "down", "url", "init"])
    db.add_argument(
        "--role",
        choices=list(ROLES),
        default="bi",
        help="whose URL `db url` prints, with the password (default bi; admin is the owner)",
    )
    db.set_defaults(func=_db)

    ingest = sub.add_parser("ingest", help="load API response files in a platform's native format")
    ingest.add_argument("files", nargs="+")
    ingest.add_argument("--platform", choices=["vk", "ok", "telegram"], required=True)
    ingest.add_argument(
        "--topic-id",
        type=int,
        default=None,
        help="OK only: the topic of discussions.getComments files (the response does not name it)",
    )
    ingest.set_defaults(func=_ingest)

    extract = sub.add_parser("extract", help="read the registered sources from their cursors into raw")
    extract.add_argument("--platform", choices=["vk", "ok", "telegram"], default=None)
    extract.add_argument("--since", type=_timestamp, required=True, help="ISO timestamp")
    extract.add_argument("--until", type=_timestamp, default=None, help="ISO timestamp (default: now)")
    extract.set_defaults(func=_extract)

    transform = sub.add_parser("transform", help="dbt build: staging, classification, marts")
    transform.add_argument("--select", default=None)
    transform.add_argument("--full-refresh", action="store_true")
    transform.set_defaults(func=_transform)

    validate = sub.add_parser("validate", help="the Great Expectations gate (exit code 1 when it fails)")
    validate.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        help="also check this period's rows and that the marts were built after it (as an export does)",
    )
    validate.add_argument("--period", choices=["day", "week", "month"], default="day")
    validate.set_defaults(func=_validate)

    export = sub.add_parser("export", help="XLSX, CSV and HTML reports under out/DATE/")
    export.add_argument("--period", choices=["day", "week", "month"], default="day")
    export.add_argument("--date", type=date.fromisoformat, required=True)
    export.set_defaults(func=_export)

    deliver = sub.add_parser(
        "deliver", help="the gate, the reports, and each recipient's letters by SMTP (each sent once)"
    )
    deliver.add_argument("--period", choices=["day", "week", "month"], default="day")
    deliver.add_argument("--date", type=date.fromisoformat, required=True, help="a day of the period")
    deliver.add_argument("--conn-id", default="smtp_default", help="the Airflow SMTP connection")
    deliver.set_defaults(func=_deliver)

    forget = sub.add_parser(
        "forget",
        help="erase a citizen (or one message) from raw, the marts, casework and out/ (152-FZ), recorded "
        "in ops.erasure_requests",
    )
    forget.add_argument("--platform", choices=["vk", "ok", "telegram"], required=True)
    erased = forget.add_mutually_exclusive_group(required=True)
    erased.add_argument("--author-id", help="the person's id on the platform: every message of theirs")
    erased.add_argument("--message-key", help="one message, e.g. vk:wall-100001_5")
    forget.add_argument("--reference", default=None, help="the request's reference (letter number, date)")
    forget.add_argument("--by", default=None, help="who carries it out (default: the OS user)")
    forget.set_defaults(func=_forget)

    demo = sub.add_parser("demo", help="the whole pipeline on generated sandbox data")
    demo.add_argument("--days", type=int, default=3)
    demo.set_defaults(func=_demo)

    evaluation = sub.add_parser(
        "eval", help="precision, recall and accuracy of the classifier on labelled sets"
    )
    evaluation.add_argument("sets", nargs="*", help="JSONL files (default: tests/data/incident_*_set.jsonl)")
    evaluation.add_argument("--show-errors", action="store_true", help="list the misclassified messages")
    evaluation.add_argument(
        "--negative-share",
        type=float,
        default=None,
        help="share of non-incidents in the real flow for the base-rate figures "
        "(default: SOCMON_EVAL_NEGATIVE_SHARE or 0.85)",
    )
    evaluation.set_defaults(func=_eval)

    training = sub.add_parser(
        "train-classifier",
        help="fit the learned report and category scores on the dev set, write seeds/rules/*_weights.csv",
    )
    training.add_argument(
        "development_set", nargs="?", help="JSONL file (default: tests/data/incident_dev_set.jsonl)"
    )
    training.set_defaults(func=_train_classifier)

    pools = sub.add_parser("pools", help="create or resize the Airflow pools the DAGs use")
    pools.set_defaults(func=_pools)

    sandbox = sub.add_parser("sandbox", help="serve the sandbox VK API emulator in the foreground")
    sandbox.add_argument("--port", type=int, default=None)
    sandbox.set_defaults(func=_sandbox)

    quarantine = sub.add_parser(
        "quarantine", help="records left out: rejected by the loader, or that staging cannot type"
    )
    quarantine.add_argument("action", choices=["list"])
    quarantine.add_argument("--since", type=_timestamp, default=None, help="ISO timestamp")
    quarantine.set_defaults(func=_quarantine)

    sources = sub.add_parser("sources", help="the registered sources and their cursors")
    sources.add_argument("action", choices=["list"])
    sources.set_defaults(func=_sources)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        return args.func(args)
    except Exception as exc:  # one clear line for the user; the traceback with -v
        if args.verbose:
            raise
        log.error("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
