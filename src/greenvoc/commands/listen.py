"""``greenvoc listen``: human listening tests (P.808 ACR, MUSHRA, A/B) on a benchmark's audio.

``create`` builds a study from a run's audio, ``serve`` runs the web app (FastAPI + uvicorn,
the ``listen`` extra), ``results`` summarises the stored ratings.
"""

from __future__ import annotations

import argparse
import secrets
import sys

from greenvoc.commands import add_command_parser
from greenvoc.commands._output import add_db_flag, add_json_flag, console, emit_json
from greenvoc.errors import GreenvocError, UsageError


def register(subparsers) -> None:
    p = add_command_parser(
        subparsers, "listen",
        description="Build a listening test from a benchmark run's audio, serve it to raters, "
        "and summarise the ratings stored in the results database.")
    sub = p.add_subparsers(dest="listen_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: _missing(p))

    c = sub.add_parser("create", help="build a study (study.yaml + its audio folder)")
    c.add_argument("--from-run", default="latest", metavar="ID|latest",
                   help="benchmark run whose audio is rated (default: latest)")
    c.add_argument("--type", required=True, choices=("acr", "mushra", "ab"), dest="test_type",
                   help="acr: P.808 absolute category rating; mushra: BS.1534; ab: preference")
    c.add_argument("--models", help="comma-separated models or model/variant (default: all "
                   "models with weights in the run)")
    c.add_argument("--per-rater", type=int, default=10, metavar="N",
                   help="rated pages per rater (ACR adds 1 gold + 1 trapping clip; default 10)")
    c.add_argument("--seed", type=int, default=0, help="seed of every rater's order")
    c.add_argument("--audio", metavar="DIR", help="the --out of `greenvoc bench`, when the "
                   "paths recorded in the run moved (default greenvoc-results/audio)")
    c.add_argument("--no-trap", action="store_true",
                   help="ACR without trapping clips (they need espeak-ng)")
    c.add_argument("--ab-choices", default="forced", choices=("forced", "with-tie"),
                   help="A/B answers: forced (A or B, default) or with-tie (also 'no "
                   "preference'; ties are reported and left out of the share and its test)")
    c.add_argument("--headphone-attempts", type=int, default=2, metavar="N",
                   help="tries at the headphone test (Woods et al. 2017, ≥ 5 of 6 correct) "
                   "before a rater is screened out (default 2)")
    c.add_argument("--completion-url", metavar="URL",
                   help="where a rater goes when done, e.g. Prolific's "
                   "https://app.prolific.com/submissions/complete?cc=CODE")
    c.add_argument("--completion-code", metavar="CODE",
                   help="code shown to a rater when done, to paste into the crowd platform "
                   "(MTurk, Prolific)")
    c.add_argument("--out", required=True, metavar="STUDY.yaml", help="study file to write")
    add_db_flag(c)
    add_json_flag(c)
    c.set_defaults(func=_create)

    s = sub.add_parser("serve", help="serve a study to raters (admin token printed at start)")
    s.add_argument("study", metavar="STUDY", help="study.yaml written by `listen create`")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    add_db_flag(s)
    s.set_defaults(func=_serve)

    r = sub.add_parser("results", help="MOS / MUSHRA / preference statistics of a study")
    r.add_argument("study", metavar="STUDY", help="study.yaml written by `listen create`")
    r.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    add_db_flag(r)
    add_json_flag(r)
    r.set_defaults(func=_results)


def _missing(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _create(args: argparse.Namespace) -> int:
    from greenvoc.listen.build import create_study
    from greenvoc.listen.storage import ListenStore
    from greenvoc.store import ResultStore

    store = ResultStore(args.db)
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    study = create_study(store, args.out, args.test_type, run=args.from_run, models=models,
                         per_rater=args.per_rater, seed=args.seed, audio=args.audio,
                         trap=not args.no_trap, ab_choices=args.ab_choices,
                         completion_url=args.completion_url,
                         completion_code=args.completion_code,
                         headphone_attempts=args.headphone_attempts)
    ListenStore(store).save_study(study)
    counts = {k: sum(1 for i in study.items if i.kind == k) for k in ("rating", "gold", "trap")}
    doc = {"study": study.id, "file": str(study.path), "audio_dir": str(study.audio_root),
           "test_type": study.test_type, "run_id": study.run_id, "items": counts,
           "training": len(study.training), "sample_rate": study.sample_rate,
           "level_dbfs": study.level_dbfs, "stimuli": len(study.stimuli()),
           "ab_choices": study.ab_choices, "headphone_attempts": study.headphone_attempts,
           "completion_url": study.completion_url, "completion_code": study.completion_code}
    if args.json:
        emit_json(doc)
    else:
        console.print(f"study {study.id}: {counts['rating']} rated items, {counts['gold']} gold, "
                      f"{counts['trap']} trapping, {len(study.training)} training pages; "
                      f"{doc['stimuli']} stimuli at {study.sample_rate} Hz, "
                      f"{study.level_dbfs:g} dBFS RMS in {doc['audio_dir']}")
        if study.completion_url or study.completion_code:
            console.print("crowd raters finish at "
                          + (study.completion_url or f"the code {study.completion_code}")
                          + "; give them the study link with the platform's id parameters "
                          "(Prolific: ?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}"
                          "&SESSION_ID={{%SESSION_ID%}})")
        console.print(f"serve it: greenvoc listen serve {args.out}"
                      + (f" --db {args.db}" if args.db else ""))
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from greenvoc.listen.app import create_app
    except ModuleNotFoundError as e:
        raise GreenvocError(f"`listen serve` needs {e.name}: pip install 'greenvoc[listen]'"
                            ) from e
    from greenvoc.listen.study import load_study
    from greenvoc.store import ResultStore

    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be 1–65535, got {args.port}")
    study = load_study(args.study)
    admin_token = secrets.token_urlsafe(24)
    app = create_app(study, ResultStore(args.db), admin_token)
    base = f"http://{args.host}:{args.port}"
    console.print(f"study {study.id} ({study.test_type}): raters open {base}/")
    console.print(f"admin: open {base}/admin and log in with the token {admin_token}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _results(args: argparse.Namespace) -> int:
    from greenvoc.listen.stats import print_summary, summarize
    from greenvoc.listen.storage import load_records
    from greenvoc.listen.study import load_study
    from greenvoc.store import ResultStore

    study = load_study(args.study)
    records = load_records(ResultStore(args.db), study_id=study.id)
    if not records:
        raise GreenvocError(f"no ratings of study {study.id} in the database yet; serve it with "
                            f"`greenvoc listen serve {args.study}`")
    summary = summarize(records, study.test_type, seed=args.seed,
                        ties_allowed=study.ab_choices == "with-tie")
    if args.json:
        emit_json(summary.to_dict())
    else:
        print_summary(summary, console)
    return 0
