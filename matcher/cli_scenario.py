"""The ``matcher scenario``, ``matcher compare`` and ``matcher replan`` commands.

Registered by :func:`matcher.cli.build_parser`; errors follow the CLI's exit codes (a
scenario, plan folder or pin at fault: 2, with a message naming the file, change and
field).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from matcher.params import PlanParams

EXIT_OK, EXIT_INPUT = 0, 2


def _params(args: argparse.Namespace) -> PlanParams:
    return PlanParams.from_strings(args.param or [])


def _param_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a base run parameter for every scenario (repeatable); scenarios' set changes "
        "apply on top",
    )


def cmd_scenario_run(args: argparse.Namespace) -> int:
    from matcher.scenario import run_scenarios

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    jobs = args.jobs if args.jobs is not None else min(len(args.files), os.cpu_count() or 1)
    where = (
        f"Ray ({args.ray_address or os.environ.get('RAY_ADDRESS') or f'local, {jobs} CPUs'})"
        if args.engine == "ray"
        else f"{max(min(jobs, len(args.files)), 1)} process(es)"
    )
    print(f"Running {len(args.files)} scenario(s) on {where}", file=sys.stderr, flush=True)
    outcomes, comparison = run_scenarios(
        args.files,
        args.out,
        jobs=jobs,
        params=_params(args),
        progress=progress,
        engine=args.engine,
        ray_address=args.ray_address,
        warm_start=args.warm_start,
    )
    failed = [o for o in outcomes if o.error]
    if comparison is not None and not args.quiet:
        print(comparison.to_text(), end="")
        print(f"Wrote {len(outcomes) - len(failed)} plan folder(s) and comparison.* to {args.out}")
    for o in failed:
        print(f"error: {o.error}", file=sys.stderr)
    return EXIT_INPUT if failed else EXIT_OK


def cmd_scenario_check(args: argparse.Namespace) -> int:
    from matcher.scenario import load_scenario, scenario_dataset, scenario_params

    for path in args.files:
        sc = load_scenario(path)
        params = scenario_params(sc, _params(args))
        ds = scenario_dataset(sc)
        counts = ", ".join(f"{n} {t}" for t, n in ds.summary().items())
        changed = {k: v for k, v in params.to_dict().items() if getattr(PlanParams(), k) != v}
        print(
            f"{path}: scenario {sc.name}, {len(sc.changes)} change(s), valid ({counts})"
            + (f"; params {changed}" if changed else "")
        )
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from matcher.compare import compare_plans

    comparison = compare_plans(args.plans)
    if args.out:
        paths = comparison.write(args.out)
        print(f"Wrote {', '.join(p.name for p in paths)} to {args.out}")
        return EXIT_OK
    if args.format == "csv":
        from matcher.io import frame_csv_text

        sys.stdout.write(frame_csv_text(comparison.table()))
    elif args.format == "json":
        import json

        print(json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(comparison.to_text(), end="")
    return EXIT_OK


def cmd_replan(args: argparse.Namespace) -> int:
    import pandas as pd

    from matcher.csvsafe import restore_formulas
    from matcher.dataset import load_dataset
    from matcher.replan import ReplanError, replan

    pinned: object = "all" if args.pin_all else "none"
    if args.pin:
        try:
            # Often a plan's own assignments.csv, written formula-safe: undone here. A
            # hand-made file has no such prefixes (a spreadsheet drops its own ').
            pinned = restore_formulas(pd.read_csv(args.pin, dtype=str, keep_default_na=False))
        except (OSError, ValueError) as exc:
            raise ReplanError(f"{args.pin}: cannot be read ({exc})") from None
    ds = load_dataset(args.dataset)
    result = replan(
        ds,
        args.previous,
        _params(args),
        change_penalty=args.change_penalty,
        pinned=pinned,  # type: ignore[arg-type]
    )
    written = result.write(args.out) if args.out else []
    if not args.quiet:
        print(result.summary())
        r, c = result.kpis["replan"], result.kpis["churn"]
        print(
            f"  re-plan          penalty {r['change_penalty']:g}/h, penalized objective "
            f"{r['penalized_objective']:,.4f}, {r['pinned_assignments']} pinned"
        )
        print(
            f"  churn            {c['assignments_kept']} kept, {c['assignments_changed']} "
            f"changed, {c['assignments_added']} added, {c['assignments_removed']} removed; "
            f"{c['hours_changed']} hours changed"
        )
        if written:
            print(f"Wrote {', '.join(p.name for p in written)} to {args.out}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``scenario``, ``compare`` and ``replan`` to the ``matcher`` command."""
    p = sub.add_parser("scenario", help="run what-if scenario files")
    scen = p.add_subparsers(dest="scenario_command", required=True)
    r = scen.add_parser("run", help="plan many scenario files and compare them")
    r.add_argument("files", nargs="+", help="scenario files (.yaml, .yml, .json)")
    r.add_argument("--out", type=Path, required=True, help="folder: one plan folder per scenario")
    r.add_argument(
        "--jobs", type=int, help="processes (default: one per core, at most one per scenario)"
    )
    r.add_argument("--quiet", action="store_true", help="print no comparison")
    r.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local processes (default) or Ray tasks (a local Ray, or --ray-address)",
    )
    r.add_argument("--ray-address", help="a running Ray cluster (default: RAY_ADDRESS)")
    r.add_argument(
        "--warm-start",
        action="store_true",
        help="plan the first scenario first and start the others from its LP duals "
        "(column solver: faster at city scale; plans optimal either way)",
    )
    _param_option(r)
    r.set_defaults(func=cmd_scenario_run)
    c = scen.add_parser("check", help="check scenario files against their base datasets")
    c.add_argument("files", nargs="+", help="scenario files")
    _param_option(c)
    c.set_defaults(func=cmd_scenario_check)

    p = sub.add_parser("compare", help="compare plan folders: KPIs, deltas and a plan diff")
    p.add_argument("plans", nargs="+", type=Path, help="plan folders; the first is the reference")
    p.add_argument("--out", type=Path, help="write comparison.{csv,json,txt} and the diffs here")
    p.add_argument("--format", choices=("text", "csv", "json"), default="text")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("replan", help="plan again, keeping a previous plan where possible")
    p.add_argument("dataset", help="a dataset folder, or an .xlsx workbook")
    p.add_argument("--previous", type=Path, required=True, help="the previous plan folder")
    p.add_argument("--out", type=Path, help="folder for the new plan")
    p.add_argument(
        "--change-penalty",
        type=float,
        default=0.0,
        help="objective lost per hour changed against the previous plan (default 0)",
    )
    pins = p.add_mutually_exclusive_group()
    pins.add_argument("--pin-all", action="store_true", help="keep every previous assignment")
    pins.add_argument(
        "--pin",
        type=Path,
        help="CSV of assignments to keep (supplier_kind, supplier_id, demand_id)",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    _param_option(p)
    p.set_defaults(func=cmd_replan)
