"""The ``matcher`` command line.

Exit codes: 0 success; 2 bad input (a dataset that does not validate, a bad parameter
or argument, integer rules that contradict each other or the data), with every problem
listed and no traceback; 1 a solver failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeAlias

from matcher.cli.scenario import register as register_scenario_commands
from matcher.errors import (
    DatasetError,
    InfeasibleError,
    MatcherError,
    ParameterError,
    SolverError,
    ValidationIssue,
)
from matcher.i18n import (
    LANGS,
    N_,
    SOURCE_LANG,
    Text,
    Translator,
    pad_display,
    thousands,
    translator,
)
from matcher.params import PlanParams

if TYPE_CHECKING:
    import networkx as nx

    from matcher.analysis.recommend import AllianceResult, PairingResult
    from matcher.inputs.dataset import Dataset
    from matcher.progress import Progress

_Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

__all__ = [
    "EXIT_FAIL",
    "EXIT_INPUT",
    "EXIT_OK",
    "LANG_ENV",
    "PLUGIN_GROUP",
    "add_plugin_commands",
    "build_parser",
    "main",
]

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2


def _params(args: argparse.Namespace) -> PlanParams:
    return PlanParams.from_strings(args.param or [])


LANG_ENV = "MATCHER_LANG"
"""The environment variable giving the CLI's language when ``--lang`` is not given."""


def _add_lang_option(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--lang``: the language of the command's messages and of what it writes."""
    p.add_argument(
        "--lang",
        choices=LANGS,
        default=default,
        help=f"language of messages and output (default {default})"
        if default
        else f"language of messages and output (default: ${LANG_ENV}, else en)",
    )


def _lang(args: argparse.Namespace) -> str:
    """The language asked for: ``--lang``, else ``$MATCHER_LANG``, else English."""
    lang = getattr(args, "lang", None) or os.environ.get(LANG_ENV) or SOURCE_LANG
    return lang if lang in LANGS else SOURCE_LANG


def _add_param_option(p: argparse.ArgumentParser) -> None:
    names = ", ".join(PlanParams.names())
    p.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help=f"override a run parameter (repeatable); one of: {names}",
    )


def cmd_validate(args: argparse.Namespace) -> int:
    from matcher.inputs.dataset import load_dataset

    lang = _lang(args)
    _ = translator(lang)
    ds = load_dataset(args.dataset, max_errors=args.max_errors)
    _print_warnings(ds.warnings, lang)
    if args.json:
        print(json.dumps({"valid": True, "tables": ds.counts(), "hash": ds.content_hash}))
    else:
        counts = _table_counts(ds.counts(), lang)
        print(_("{dataset}: valid ({counts})").format(dataset=args.dataset, counts=counts))
    return EXIT_OK


def _print_warnings(warnings: Sequence[object], lang: str) -> None:
    """Each of a dataset's warnings on stderr, in ``lang``."""
    _ = translator(lang)
    for w in warnings:
        text = w.text(lang) if isinstance(w, ValidationIssue) else str(w)
        print(_("warning: {text}").format(text=text), file=sys.stderr)


def _table_counts(summary: dict[str, int], lang: str) -> str:
    """``4 communities, 3 units, ...``; in Chinese with the sheets' names."""
    from matcher.inputs.aliases import sheet_name

    _ = translator(lang)
    return _.pgettext("list separator", ", ").join(
        _("{n} {table}").format(n=n, table=sheet_name(t, lang)) for t, n in summary.items()
    )


_STAGE_NAMES = {
    "load": N_("loading"),
    "build": N_("building"),
    "solve": N_("solving"),
    "tables": N_("making the tables"),
}
"""What the live line calls each stage of :data:`matcher.progress.STAGES`."""
_PART_NAMES = {"labour": N_("labour"), "funds": N_("funds"), "leads": N_("lead units")}
"""What it calls each model of the integer rules (:data:`matcher.progress.PARTS`)."""


class _LiveLine:
    """A plan's progress as one line on a terminal, rewritten in place (``\\r``):
    ``solving · round 7 · best 12,340.2 · bound 12,345.6 · 12.3 s``.

    Its seconds count from when it was made (the command's start, load included)."""

    def __init__(self, _: Translator, stream: TextIO) -> None:
        self._, self.stream = _, stream
        self.start = time.perf_counter()
        self.shown = False

    def __call__(self, p: Progress) -> None:
        _ = self._
        bits = [_(_STAGE_NAMES[p.stage])]
        if p.part is not None:
            bits.append(_(_PART_NAMES.get(p.part, p.part)))
        if p.round is not None:
            bits.append(_("round {n}").format(n=p.round))
        if p.incumbent is not None:
            bits.append(_("best {value}").format(value=f"{p.incumbent:,.1f}"))
        if p.bound is not None:
            bits.append(_("bound {value}").format(value=f"{p.bound:,.1f}"))
        if p.gap is not None:
            bits.append(_("gap {gap}").format(gap=f"{p.gap:.2%}"))
        seconds = f"{time.perf_counter() - self.start:.1f}"
        bits.append(_("{seconds} s").format(seconds=seconds))
        # \x1b[K clears what a longer line before left on the right.
        self.stream.write("\r" + " · ".join(bits) + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Take the line away (before other output, and at the end)."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _live_line(args: argparse.Namespace, _: Translator) -> _LiveLine | None:
    """The live progress line: only on a terminal, and not with ``--quiet`` (piped or
    redirected, stderr gets nothing more than without it)."""
    if args.quiet or not sys.stderr.isatty():
        return None
    return _LiveLine(_, sys.stderr)


def cmd_plan(args: argparse.Namespace) -> int:
    from matcher.inputs.dataset import load_dataset
    from matcher.plans.planner import plan
    from matcher.progress import Progress

    lang = _lang(args)
    _ = translator(lang)
    params = _params(args)
    live = _live_line(args, _)
    try:
        t0 = time.perf_counter()
        if live is not None:
            live(Progress("load", 0.0))
        ds = load_dataset(args.dataset, max_errors=args.max_errors)
        t_load = time.perf_counter() - t0
        if live is not None:
            live.clear()
        _print_warnings(ds.warnings, lang)
        if args.jobs is not None and args.jobs < 1:
            raise ParameterError("jobs", args.jobs, Text(N_("a whole number, 1 or more")))
        jobs = args.jobs if args.jobs is not None else os.cpu_count() or 1
        result = plan(
            ds, params, engine=args.engine, ray_address=args.ray_address, jobs=jobs, progress=live
        )
    finally:
        if live is not None:
            live.clear()  # errors and the plan's summary start on a clean line
    if args.engine == "ray" and result.kpis.get("rules"):
        print(
            _("note: integer rules couple the parts of the plan; it was made in this process"),
            file=sys.stderr,
        )
    written = result.write(args.out) if args.out else []
    if not args.quiet:
        counts = _table_counts(ds.counts(), lang)
        print(_("Dataset {source}: {counts}").format(source=ds.source, counts=counts))
        print(result.text(lang))
        timings = {"load": t_load, **result.timings}
        seconds = ", ".join(f"{k} {v:.3f}" for k, v in timings.items())
        print(_("  stage seconds    {seconds}").format(seconds=seconds))
        if written:
            names = ", ".join(p.name for p in written)
            print(_("Wrote {files} to {folder}").format(files=names, folder=args.out))
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    from matcher.inputs.dataset import load_dataset
    from matcher.model.graph import build_graph, write_graph

    _ = translator(_lang(args))
    params = _params(args)
    ds = load_dataset(args.dataset, max_errors=args.max_errors)
    g = build_graph(ds)
    if args.community:
        code = _print_community(_, ds, g, params, args)
        if code != EXIT_OK:
            return code
    else:
        _print_graph_summary(_, ds, g, params, args.dataset)
    if args.export:
        path = write_graph(g, args.export)
        print(_("Wrote {path}").format(path=path))
    return EXIT_OK


def _print_community(
    _: Translator, ds: Dataset, g: nx.MultiGraph, params: PlanParams, args: argparse.Namespace
) -> int:
    """``matcher graph --community``: the community's ties to units, and the supply they
    reach against its demand; :data:`EXIT_INPUT` for a community not in the dataset."""
    from matcher.model.arcs import build_problem, reachable_supply
    from matcher.model.graph import community_ties

    try:
        ties = community_ties(g, args.community)
    except KeyError:
        message = _("no community {community} in {dataset}").format(
            community=repr(args.community), dataset=args.dataset
        )
        print(_("error: {message}").format(message=message), file=sys.stderr)
        return EXIT_INPUT
    supply = reachable_supply(build_problem(ds, params))
    supply = supply[supply["community_id"] == args.community]
    print(
        _.ngettext(
            "Community {community}: {n} unit tie",
            "Community {community}: {n} unit ties",
            len(ties),
        ).format(community=args.community, n=len(ties))
    )
    for t in ties:
        via = _(" via {alliance}").format(alliance=t["via"]) if t["via"] else ""
        n = t["cadres"]
        who = (
            _.ngettext(" ({n} resident cadre)", " ({n} resident cadres)", n).format(n=n)
            if n
            else ""
        )
        print(f"  {t['tie']:<10} {t['unit_id']}{via}{who}")
    print(_("Reachable supply (all ties incl. proximity) against demand:"))
    print(supply.drop(columns="community_id").to_string(index=False))
    return EXIT_OK


def _print_graph_summary(
    _: Translator, ds: Dataset, g: nx.MultiGraph, params: PlanParams, dataset: str
) -> None:
    """``matcher graph``: the tie graph's nodes, edges, components and untied communities,
    and the demand cells its ties reach too little supply for."""
    from matcher.model.arcs import build_problem, reachable_supply
    from matcher.model.graph import graph_summary

    summary = graph_summary(g)
    n, e = summary["nodes"], summary["edges"]

    def line(label: str, text: str) -> str:
        return f"  {pad_display(label, 11)} {text}"

    print(_("Tie graph of {dataset}").format(dataset=dataset))
    nodes = _("{communities} communities, {units} units, {alliances} alliances")
    counts = {"communities": n["community"], "units": n["unit"], "alliances": n["alliance"]}
    print(line(_("nodes"), nodes.format(**thousands(counts))))
    edges = _("{pairing} pairing, {member} member, {covers} covers, {residence} residence")
    print(line(_("edges"), edges.format(**thousands(e))))
    components = _("{n} (largest {largest} nodes)").format(
        n=f"{summary['components']:,}", largest=f"{summary['largest_component']:,}"
    )
    print(line(_("components"), components))
    untied = _("{n} communities (proximity only)").format(n=f"{summary['untied_communities']:,}")
    print(line(_("untied"), untied))
    supply = reachable_supply(build_problem(ds, params))
    short = supply[supply["ratio"] < 1]
    reachable = _(
        "{cells} (community, category) demand cells; {short} with less tied supply than demand"
    ).format(cells=f"{len(supply):,}", short=f"{len(short):,}")
    print(line(_("reachable"), reachable))


def cmd_generate(args: argparse.Namespace) -> int:
    from matcher.i18n import N_, Text, translator
    from matcher.inputs.generate import generate, write_tables

    if not args.scale > 0:
        raise ParameterError("scale", args.scale, Text(N_("a number greater than 0")))
    t0 = time.perf_counter()
    tables = generate(scale=args.scale, seed=args.seed)
    paths = write_tables(tables, args.out, fmt=args.format)
    counts = ", ".join(f"{len(f):,} {name}" for name, f in tables.items())
    _ = translator(_lang(args))
    print(
        _("Wrote {n} tables to {out} in {seconds} s: {counts}").format(
            n=len(paths), out=args.out, seconds=f"{time.perf_counter() - t0:.1f}", counts=counts
        )
    )
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from matcher.plans.io import read_plan
    from matcher.report.html import build_report, write_report

    lang = _lang(args)
    _ = translator(lang)
    plan = read_plan(args.plan)
    other = read_plan(args.compare) if args.compare else None
    text = build_report(plan, args.dataset, other=other, title=args.title, lang=lang)
    path = write_report(text, args.out)
    size = f"{len(text.encode()):,}"
    print(_("Wrote {path} ({size} bytes)").format(path=path, size=size))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from matcher.i18n import N_, Text, translator
    from matcher.plans.io import plan_dataset, read_plan
    from matcher.report.export import write_exports
    from matcher.report.projectlist import write_project_list

    lang = _lang(args)
    _ = translator(lang)
    if args.out is None and args.xlsx is None:
        print(
            _(
                "error: give --out DIR (files for dashboards), --xlsx FILE.xlsx (the project "
                "list), or both"
            ),
            file=sys.stderr,
        )
        return EXIT_INPUT
    if args.public and args.xlsx is None:
        print(
            _("error: --public is a variant of the project list: give --xlsx FILE.xlsx"),
            file=sys.stderr,
        )
        return EXIT_INPUT
    if args.xlsx is not None and args.xlsx.suffix.lower() != ".xlsx":
        raise ParameterError("--xlsx", str(args.xlsx), Text(N_("a file name ending in .xlsx")))
    plan = read_plan(args.plan)
    dataset = plan_dataset(plan, args.dataset)
    if args.xlsx is not None:
        sheets = write_project_list(plan, dataset, args.xlsx, lang=lang, public=args.public)
        done = (
            _("Wrote the project list for public notice to {path} ({n} sheets, no personal data)")
            if args.public
            else _("Wrote the project list to {path} ({n} sheets)")
        )
        print(done.format(path=args.xlsx, n=len(sheets)))
    if args.out is not None:
        formats = ("csv", "parquet") if args.format == "both" else (args.format,)
        paths = write_exports(plan.tables(), plan.kpis, dataset, args.out, formats)
        print(
            _("Wrote {n} files to {out}: {names}").format(
                n=len(paths), out=args.out, names=", ".join(p.name for p in paths)
            )
        )
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from matcher.analysis.explain import (
        ExplainParams,
        bottlenecks,
        demand_explanation,
        explain,
        format_bottlenecks,
        summaries,
    )
    from matcher.i18n import render
    from matcher.plans.io import plan_dataset, read_plan

    lang = _lang(args)
    _ = translator(lang)
    plan = read_plan(args.plan)
    dataset = plan_dataset(plan, args.dataset)
    params = ExplainParams(nearest=args.nearest, langs=(lang,))
    if args.out:
        # The tables hold the summaries in every language.
        result = explain(plan, dataset, ExplainParams(nearest=args.nearest))
        written = result.write(args.out)
        for note in result.notes:
            print(_("note: {note}").format(note=render(note, lang)), file=sys.stderr)
        files = ", ".join(p.name for p in written)
        print(_("Wrote {files} to {folder}").format(files=files, folder=args.out))
    if args.demand:
        print(demand_explanation(plan, dataset, args.demand, params).text(lang))
    if args.bottlenecks:
        print(format_bottlenecks(bottlenecks(plan, dataset, params), lang=lang))
    if not (args.out or args.demand or args.bottlenecks):
        table = summaries(plan, dataset, params)
        for text in table.loc[table["scope"] == "district", "text"]:
            print(text)
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    from matcher.inputs.template import write_template

    lang = _lang(args)
    _ = translator(lang)
    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        raise ParameterError("out", str(out), Text(N_("a file name ending in .xlsx")))
    source = getattr(args, "from")
    write_template(out, lang=lang, dataset=source)
    if source:
        done = _("Wrote {path} ({lang}, the rows of {source})")
    else:
        done = _("Wrote {path} ({lang}, one example row per sheet)")
    print(done.format(path=out, lang=lang, source=source))
    return EXIT_OK


def _report_recommendation(
    result: PairingResult | AllianceResult, args: argparse.Namespace
) -> None:
    """A recommendation's tables written to ``--out``, its report printed in the chosen
    language, and with ``--apply`` the dataset with the recommended ties written."""
    written = result.write(args.out)
    lang = _lang(args)
    _ = translator(lang)
    print(result.text(lang))
    files = ", ".join(p.name for p in written)
    print(_("Wrote {files} to {out}").format(files=files, out=args.out))
    if args.apply is not None:
        result.dataset.write(args.apply)
        print(
            _("Wrote the dataset with the recommended ties to {folder}").format(folder=args.apply)
        )


def cmd_pairings(args: argparse.Namespace) -> int:
    from matcher.analysis.recommend import PairingParams, Scope, recommend_pairings
    from matcher.inputs.dataset import load_dataset

    params = PairingParams(
        min_partners=args.min_partners,
        max_communities=args.max_communities,
        max_partners=args.max_partners,
        reconsider=args.reconsider,
        scope=Scope.from_strings(args.scope or []),
        value=args.value,
        balance=args.balance,
        max_new=args.max_new,
        unit_kinds=tuple(args.unit_kind or ()),
        max_km=args.max_km,
    )
    ds = load_dataset(args.dataset, max_errors=args.max_errors)
    result = recommend_pairings(ds, params, _params(args))
    _report_recommendation(result, args)
    return EXIT_OK


def cmd_alliances(args: argparse.Namespace) -> int:
    from matcher.analysis.recommend import AllianceParams, Scope, recommend_alliances
    from matcher.inputs.dataset import load_dataset

    params = AllianceParams(
        radius_km=args.radius_km,
        max_members=args.max_members,
        unit_kinds=tuple(args.unit_kind or ()),
        scope=Scope.from_strings(args.scope or []),
    )
    ds = load_dataset(args.dataset, max_errors=args.max_errors)
    result = recommend_alliances(ds, params, _params(args))
    _report_recommendation(result, args)
    return EXIT_OK


def _add_recommend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help="a dataset folder, or an .xlsx workbook")
    p.add_argument("--out", type=Path, required=True, help="folder for the recommendation")
    p.add_argument(
        "--scope",
        action="append",
        metavar="KEY=VALUE[,VALUE]",
        help="only these communities: district=, street= or community_id= (repeatable)",
    )
    p.add_argument(
        "--unit-kind",
        action="append",
        choices=("government", "enterprise", "social_org", "institution"),
        help="only units of this kind (repeatable; default every kind)",
    )
    p.add_argument("--apply", type=Path, metavar="DIR", help="also write the dataset with the ties")
    p.add_argument("--max-errors", type=int, default=200, help="errors to list (default 200)")
    _add_param_option(p)


def build_parser() -> argparse.ArgumentParser:
    """The ``matcher`` command's parser: every subcommand, then the plugins'."""
    parser = argparse.ArgumentParser(
        prog="matcher",
        description="Co-construction planner: match community demands with what units, "
        "enterprises and social organizations can give, optimally.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add, run in _COMMANDS:
        p = add(sub)
        _add_lang_option(p)
        p.set_defaults(func=run)
    # The template's --lang has its own default and place, so it adds the option itself.
    _add_template(sub).set_defaults(func=cmd_template)
    register_scenario_commands(sub)
    add_plugin_commands(sub)
    return parser


def _add_validate(sub: _Subparsers) -> argparse.ArgumentParser:
    """The ``matcher validate`` subcommand."""
    p = sub.add_parser("validate", help="check a dataset folder and list every problem")
    p.add_argument("dataset", help="a dataset folder (CSV or Parquet tables), or an .xlsx workbook")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--max-errors", type=int, default=200, help="errors to list (default 200)")
    return p


def _add_plan(sub: _Subparsers) -> argparse.ArgumentParser:
    """The ``matcher plan`` subcommand."""
    p = sub.add_parser("plan", help="make the optimal plan for a dataset")
    p.add_argument("dataset", help="a dataset folder, or an .xlsx workbook")
    p.add_argument("--out", type=Path, help="folder for the plan's tables")
    p.add_argument(
        "--quiet",
        action="store_true",
        help="print nothing on success (and no live progress line on a terminal)",
    )
    p.add_argument("--max-errors", type=int, default=200, help="errors to list (default 200)")
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="solve in this process (default) or the flow's independent parts as Ray tasks "
        "(a local Ray, or --ray-address)",
    )
    p.add_argument("--ray-address", help="a running Ray cluster (default: RAY_ADDRESS)")
    p.add_argument("--jobs", type=int, help="CPUs of a local Ray (default: one per core)")
    _add_param_option(p)
    return p


def _add_graph(sub: _Subparsers) -> argparse.ArgumentParser:
    """The ``matcher graph`` subcommand."""
    p = sub.add_parser("graph", help="summarise the tie graph; export it")
    p.add_argument("dataset", help="a dataset folder, or an .xlsx workbook")
    p.add_argument("--community", help="list the ties and reachable supply of one community")
    p.add_argument("--export", type=Path, help="write the graph to FILE.graphml or FILE.json")
    p.add_argument("--max-errors", type=int, default=200, help="errors to list (default 200)")
    _add_param_option(p)
    return p


def _add_generate(sub: _Subparsers) -> argparse.ArgumentParser:
    """The ``matcher generate`` subcommand."""
    p = sub.add_parser("generate", help="write a seeded synthetic city dataset")
    p.add_argument("out", type=Path, help="folder to write")
    p.add_argument("--scale", type=float, default=1.0, help="1.0 = the article's Fuzhou")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")
    return p


def _add_report(sub: _Subparsers) -> argparse.ArgumentParser:
    """The ``matcher report`` subcommand."""
    p = sub.add_parser("report", help="write a plan's self-contained HTML report")
    p.add_argument("plan", help="a plan folder (written by matcher plan --out)")
    p.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    p.add_argument("--dataset", help="the plan's dataset (default: the one in run.json)")
    p.add_argument("--compare", help="another plan folder to compare with")
    p.add_argument("--title", help="the report's title")
    return p


def _add_export(sub: _Subparsers) -> argparse.ArgumentParser:
    """The ``matcher export`` subcommand."""
    p = sub.add_parser(
        "export",
        help="write a plan's GeoJSON, CSV and Parquet for dashboards, or its project list "
        "as an Excel workbook",
    )
    p.add_argument("plan", help="a plan folder (written by matcher plan --out)")
    p.add_argument("--out", type=Path, help="folder for the dashboard exports")
    p.add_argument(
        "--xlsx",
        type=Path,
        metavar="OUT.xlsx",
        help="write the project list (a workbook to print: summary, a sheet per district, "
        "unmet demands) to this file",
    )
    p.add_argument(
        "--public",
        action="store_true",
        help="the project list for public notice: units and hours only, no cadre ids",
    )
    p.add_argument("--dataset", help="the plan's dataset (default: the one in run.json)")
    p.add_argument("--format", choices=("csv", "parquet", "both"), default="both")
    return p


def _add_pairings(sub: _Subparsers) -> argparse.ArgumentParser:
    """The ``matcher pairings`` subcommand."""
    p = sub.add_parser("pairings", help="recommend unit-community pairings (dual registration)")
    _add_recommend_options(p)
    p.add_argument("--min-partners", type=int, default=1, help="paired units per community (1)")
    p.add_argument(
        "--max-communities",
        type=int,
        default=3,
        help="communities per unit (3), unless units.csv has a max_communities column",
    )
    p.add_argument("--max-partners", type=int, help="at most this many units per community")
    p.add_argument("--max-new", type=int, help="at most this many new pairings")
    p.add_argument("--max-km", type=float, help="only units within this distance (km)")
    p.add_argument("--reconsider", action="store_true", help="choose the scope's pairings afresh")
    p.add_argument("--balance", action="store_true", help="spread pairings evenly over districts")
    p.add_argument(
        "--value",
        choices=("auto", "exact", "proxy"),
        default="auto",
        help="value of a pairing: exact re-solve, proxy estimate, or auto (default)",
    )
    return p


def _add_alliances(sub: _Subparsers) -> argparse.ArgumentParser:
    """The ``matcher alliances`` subcommand."""
    p = sub.add_parser("alliances", help="recommend street alliances for unserved demand")
    _add_recommend_options(p)
    p.add_argument(
        "--radius-km", type=float, default=10.0, help="candidate members within this (10 km)"
    )
    p.add_argument("--max-members", type=int, help="at most this many new members per street")
    return p


def _add_explain(sub: _Subparsers) -> argparse.ArgumentParser:
    """The ``matcher explain`` subcommand."""
    p = sub.add_parser("explain", help="explain a plan: values, shortfalls, bottlenecks")
    p.add_argument("plan", help="a plan folder (written by matcher plan --out)")
    p.add_argument("--dataset", help="the plan's dataset (default: the one in run.json)")
    p.add_argument("--demand", metavar="ID", help="explain one demand")
    p.add_argument("--bottlenecks", action="store_true", help="rank skills by marginal value")
    p.add_argument("--nearest", type=int, default=5, help="suppliers listed per demand (5)")
    p.add_argument("--out", type=Path, help="folder for the explanation's tables")
    return p


def _add_template(sub: _Subparsers) -> argparse.ArgumentParser:
    """The ``matcher template`` subcommand."""
    p = sub.add_parser("template", help="write an Excel workbook to fill in (the lists)")
    p.add_argument("out", type=Path, help="the .xlsx file to write")
    _add_lang_option(p, default="zh")
    p.add_argument(
        "--from",
        metavar="DATASET",
        help="fill it with a dataset (folder or .xlsx) instead of the example rows",
    )
    return p


_COMMANDS: tuple[
    tuple[Callable[[_Subparsers], argparse.ArgumentParser], Callable[[argparse.Namespace], int]],
    ...,
] = (
    (_add_validate, cmd_validate),
    (_add_plan, cmd_plan),
    (_add_graph, cmd_graph),
    (_add_generate, cmd_generate),
    (_add_report, cmd_report),
    (_add_export, cmd_export),
    (_add_pairings, cmd_pairings),
    (_add_alliances, cmd_alliances),
    (_add_explain, cmd_explain),
)
"""The built-in subcommands but ``template``, in the order ``matcher --help`` lists them:
each adds its parser and options, then gets ``--lang`` (last) and runs its ``cmd_*``."""


PLUGIN_GROUP = "matcher.commands"
"""Entry-point group of extra subcommands: each is a ``register(subparsers)`` function that
adds its parser and sets ``func`` (the ``api`` package registers ``serve`` and
``create-key``)."""


def add_plugin_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommands of installed plugins; one that fails to load is skipped."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=PLUGIN_GROUP):
        try:
            ep.load()(subparsers)
        except Exception as exc:  # a broken plugin must not break the planner's commands
            print(f"warning: command plugin {ep.name!r} not loaded: {exc}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    # Imported here: the module's imports are shared with the other commands' edits.
    from matcher.i18n import Text, translator

    parser = build_parser()
    args = parser.parse_args(argv)
    lang = _lang(args)
    _ = translator(lang)

    def message(exc: BaseException) -> str:
        # A message raised as a Text is shown in the chosen language; any other
        # (an operating system's, a library's) as it came.
        first = exc.args[0] if len(exc.args) == 1 else None
        return first.render(lang) if isinstance(first, Text) else str(exc)

    try:
        code: int = args.func(args)
    except DatasetError as exc:
        print(exc.text(lang), file=sys.stderr)
        return EXIT_INPUT
    except (MatcherError, ValueError, OSError) as exc:
        # The library's own errors render in the chosen language; the rest as they came.
        text = (
            exc.render(lang) if isinstance(exc, InfeasibleError | ParameterError) else message(exc)
        )
        if isinstance(exc, SolverError):
            print(_("solver error: {message}").format(message=text), file=sys.stderr)
            return EXIT_FAIL
        print(_("error: {message}").format(message=text), file=sys.stderr)
        # Bad input (exit 2), or the library refusing what it was given correctly (1).
        refused = isinstance(exc, MatcherError) and not isinstance(
            exc, InfeasibleError | ParameterError | ValueError
        )
        return EXIT_FAIL if refused else EXIT_INPUT
    return code
