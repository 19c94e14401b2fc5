"""The ``matcher scenario``, ``matcher compare`` and ``matcher replan`` commands.

Registered by :func:`matcher.cli.commands.build_parser`; errors follow the CLI's exit codes (a
scenario, plan folder or pin at fault: 2, with a message naming the file, change and
field).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from matcher.i18n import LANGS, N_, Text, pad_display, translator
from matcher.params import PlanParams

__all__ = ["register"]

EXIT_OK, EXIT_INPUT = 0, 2


def _params(args: argparse.Namespace) -> PlanParams:
    return PlanParams.from_strings(args.param or [])


def _lang_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lang",
        choices=LANGS,
        help="language of messages and output (default: $MATCHER_LANG, else en)",
    )


def _lang(args: argparse.Namespace) -> str:
    # The command line's one rule (--lang, else $MATCHER_LANG, else English), imported
    # here: matcher.cli.commands imports this module.
    from matcher.cli.commands import _lang as cli_lang

    return cli_lang(args)


def _param_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a base run parameter for every scenario (repeatable); scenarios' set changes "
        "apply on top",
    )


def cmd_scenario_run(args: argparse.Namespace) -> int:
    from matcher.analysis.scenario import run_scenarios

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    lang = _lang(args)
    _ = translator(lang)
    jobs = args.jobs if args.jobs is not None else min(len(args.files), os.cpu_count() or 1)
    if args.engine == "ray":
        address = args.ray_address or os.environ.get("RAY_ADDRESS")
        where = (
            _("Ray ({address})").format(address=address)
            if address
            else _("Ray (local, {n} CPUs)").format(n=jobs)
        )
    else:
        where = _("{n} process(es)").format(n=max(min(jobs, len(args.files)), 1))
    print(
        _("Running {n} scenario(s) on {where}").format(n=len(args.files), where=where),
        file=sys.stderr,
        flush=True,
    )
    outcomes, comparison = run_scenarios(
        args.files,
        args.out,
        jobs=jobs,
        params=_params(args),
        progress=progress,
        engine=args.engine,
        ray_address=args.ray_address,
        warm_start=args.warm_start,
        lang=lang,
    )
    failed = [o for o in outcomes if o.error]
    if comparison is not None and not args.quiet:
        print(comparison.text(lang=lang), end="")
        print(
            _("Wrote {n} plan folder(s) and comparison.* to {out}").format(
                n=len(outcomes) - len(failed), out=args.out
            )
        )
    for o in failed:
        error = o.error.render(lang) if isinstance(o.error, Text) else o.error
        print(_("error: {message}").format(message=error), file=sys.stderr)
    return EXIT_INPUT if failed else EXIT_OK


def cmd_scenario_check(args: argparse.Namespace) -> int:
    from matcher.analysis.scenario import load_scenario, scenario_dataset, scenario_params

    _ = translator(_lang(args))
    for path in args.files:
        sc = load_scenario(path)
        params = scenario_params(sc, _params(args))
        ds = scenario_dataset(sc)
        counts = ", ".join(f"{n} {t}" for t, n in ds.counts().items())
        changed = {k: v for k, v in params.to_dict().items() if getattr(PlanParams(), k) != v}
        line = (
            _("{path}: scenario {name}, {n} change(s), valid ({counts}); params {params}")
            if changed
            else _("{path}: scenario {name}, {n} change(s), valid ({counts})")
        )
        print(
            line.format(path=path, name=sc.name, n=len(sc.changes), counts=counts, params=changed)
        )
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    from matcher.analysis.compare import compare_plans

    lang = _lang(args)
    _ = translator(lang)
    comparison = compare_plans(args.plans)
    if args.out:
        paths = comparison.write(args.out)
        print(
            _("Wrote {files} to {out}").format(files=", ".join(p.name for p in paths), out=args.out)
        )
        return EXIT_OK
    if args.format == "csv":
        from matcher.inputs.io import frame_csv_text

        sys.stdout.write(frame_csv_text(comparison.table()))
    elif args.format == "json":
        import json

        print(json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(comparison.text(lang=lang), end="")
    return EXIT_OK


def cmd_replan(args: argparse.Namespace) -> int:
    import pandas as pd

    from matcher.analysis.replan import replan
    from matcher.csvsafe import restore_formulas
    from matcher.errors import ReplanError
    from matcher.inputs.dataset import load_dataset

    pinned: object = "all" if args.pin_all else "none"
    if args.pin:
        try:
            # Often a plan's own assignments.csv, written formula-safe: undone here. A
            # hand-made file has no such prefixes (a spreadsheet drops its own ').
            pinned = restore_formulas(pd.read_csv(args.pin, dtype=str, keep_default_na=False))
        except (OSError, ValueError) as exc:
            raise ReplanError(
                Text(N_("{source}: cannot be read ({error})"), source=str(args.pin), error=str(exc))
            ) from None
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
        lang = _lang(args)
        _ = translator(lang)
        print(result.text(lang))
        r, c = result.kpis["replan"], result.kpis["churn"]
        penalty = _("penalty {penalty}/h, penalized objective {objective}, {n} pinned").format(
            penalty=f"{r['change_penalty']:g}",
            objective=f"{r['penalized_objective']:,.4f}",
            n=r["pinned_assignments"],
        )
        label = _("re-plan")
        print(f"  {pad_display(label, 16)} {penalty}")
        churn = _(
            "{kept} kept, {changed} changed, {added} added, {removed} removed; {hours} hours "
            "changed"
        ).format(
            kept=c["assignments_kept"],
            changed=c["assignments_changed"],
            added=c["assignments_added"],
            removed=c["assignments_removed"],
            hours=c["hours_changed"],
        )
        label = _("churn")
        print(f"  {pad_display(label, 16)} {churn}")
        if written:
            print(
                _("Wrote {files} to {out}").format(
                    files=", ".join(p.name for p in written), out=args.out
                )
            )
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
    _lang_option(r)
    r.set_defaults(func=cmd_scenario_run)
    c = scen.add_parser("check", help="check scenario files against their base datasets")
    c.add_argument("files", nargs="+", help="scenario files")
    _param_option(c)
    _lang_option(c)
    c.set_defaults(func=cmd_scenario_check)

    p = sub.add_parser("compare", help="compare plan folders: KPIs, deltas and a plan diff")
    p.add_argument("plans", nargs="+", type=Path, help="plan folders; the first is the reference")
    p.add_argument("--out", type=Path, help="write comparison.{csv,json,txt} and the diffs here")
    p.add_argument("--format", choices=("text", "csv", "json"), default="text")
    _lang_option(p)
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
    _lang_option(p)
    p.set_defaults(func=cmd_replan)
