"""The `mcusim` commands of the architecture search, registered through the `mcusim.commands` entry point:

    mcusim supernet --space NAME --dataset DS [--epochs E] -o CKPT [--resume]
    mcusim search --space NAME --board B [--sram KB] [--flash KB] [--latency-ms MS] [--budget N]
                  [--workers W] [--backend local|ray] [--supernet CKPT] -o DIR [--resume]
    mcusim search --list-spaces
"""
from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

from mcusim.errors import UsageError
from mcusim.models.cli import non_negative_int, positive_int


def cmd_supernet(args) -> int:
    from mcusim.models.train import TrainOptions

    from .supernet import VALIDATION, train_supernet

    options = TrainOptions(**{k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                                 ("lr", args.lr), ("seed", args.seed)) if v is not None})
    meta = train_supernet(_supernet_space(args), args.dataset, args.output, options, resume=args.resume,
                          command=shlex.join(["mcusim", *sys.argv[1:]]), validation=args.validation or VALIDATION,
                          train_images=args.train_images)
    last = meta["history"][-1] if meta["history"] else {}
    print(f"{args.output}: {args.space} supernet after {meta['epoch']} epochs, validation accuracy of the largest "
          f"candidate {last.get('largest_accuracy', float('nan')):.4f}, of the smallest "
          f"{last.get('smallest_accuracy', float('nan')):.4f}")
    return 0


def _supernet_space(args):
    """The registered space with the supernet's fixed part as given: --rank-ratio and --patch
    (mcuformer), --variant (tinyformer: one of SuperNAS's)."""
    import dataclasses

    from .spaces import get
    from .supernas import VARIANTS

    space = get(args.space)
    fixed = {k: v for k, v in (("rank_ratio", args.rank_ratio), ("patch", args.patch)) if v is not None}
    variant = getattr(args, "variant", None)
    if variant is not None:
        if space.name != "tinyformer" or variant not in VARIANTS:
            raise UsageError(f"--variant {variant}: the tinyformer space has variants {', '.join(VARIANTS)}")
        fixed.update(VARIANTS[variant])
    try:
        return dataclasses.replace(space, **fixed)
    except (TypeError, ValueError) as e:
        raise UsageError(f"the {space.name} space: {e}") from None


def cmd_evolve_space(args) -> int:
    from .space_evolution import EvolutionOptions, evolve

    board = _board(args.board)
    options = EvolutionOptions(epochs=args.epochs, iterations=args.iterations, samples=args.samples,
                               train_images=args.train_images, seed=args.seed)
    chosen = evolve(_supernet_space(args), args.dataset, board, _budget(board, args), options, args.output)
    print(f"{args.output}/evolution.md: chosen rank ratio {chosen['rank_ratio']:g}, patch {chosen['patch']} "
          f"({chosen['tokens']} tokens): accuracy {chosen['accuracy']:.4f}, share within budget {chosen['share']:.2f}; "
          f"train its supernet with `mcusim supernet --space {args.space} --rank-ratio {chosen['rank_ratio']:g} "
          f"--patch {chosen['patch']} --dataset {args.dataset} -o CKPT`")
    return 0


def cmd_supernas(args) -> int:
    from .spaces import get
    from .supernas import VARIANTS, SuperNASOptions, supernas

    board = _board(args.board)
    low, _, high = (args.params or ":").partition(":")
    try:
        options = SuperNASOptions(samples=args.samples, params_min=int(low or 0), params_max=int(high) if high else None,
                                  epochs=args.epochs, train_images=args.train_images, seed=args.seed)
    except ValueError:
        raise UsageError(f"--params {args.params}: write MIN:MAX in parameters, e.g. 50000:400000") from None
    chosen = supernas(get(args.space), VARIANTS, args.dataset, board, _budget(board, args), options, args.output)
    score = "" if chosen["accuracy"] is None else f", accuracy {chosen['accuracy']:.4f}"
    print(f"{args.output}/supernas.md: chosen variant {chosen['variant']} (acceptance {chosen['acceptance']:.0%}{score}); "
          f"its space is recorded in {args.output}/supernas.jsonl")
    return 0


def _board(name: str):
    from mcusim.boards import UnknownBoard, get_board

    try:
        return get_board(name)
    except UnknownBoard as e:
        raise UsageError(str(e)) from None


def _budget(board, args):
    from .measure import Budget

    return Budget.of(board, args.sram, args.flash, args.latency_ms)


def _add_budget_options(p, required: bool = True) -> None:
    p.add_argument("--board", required=required, metavar="B",
                   help="stm32f427, stm32f746 or stm32h743: its SRAM and flash are the budget")
    p.add_argument("--sram", type=float, metavar="KB", help="SRAM budget in KiB (default: the board's)")
    p.add_argument("--flash", type=float, metavar="KB", help="flash budget in KiB (default: the board's)")
    p.add_argument("--latency-ms", type=float, metavar="MS", help="latency budget (default: none)")


def cmd_search(args) -> int:
    from .spaces import SPACES, get

    if args.list_spaces:
        for name, space in SPACES.items():
            print(f"{name:12} {space.description}")
        return 0
    if not args.space or not args.board or not args.output:
        raise UsageError("mcusim search needs --space, --board and -o DIR (or --list-spaces)")
    from mcusim.models.train import read_checkpoint_file

    from .evaluate import EvalSpec, Evaluator
    from .report import write_results
    from .search import SearchOptions, search
    from .supernet import SHIPPED

    space = get(args.space)
    board = _board(args.board)
    supernet = args.supernet or SHIPPED.get(space.name)
    if supernet is None or not Path(supernet).exists():
        raise UsageError(f"no supernet for the {space.name} space: train one (mcusim supernet) and pass --supernet")
    meta = read_checkpoint_file(supernet)[0]
    if meta.get("supernet") != space.name:
        raise UsageError(f"{supernet} is not a supernet of the {space.name} space")
    spec = EvalSpec(str(supernet), board.name, _budget(board, args), meta["dataset"], args.memory_opts, args.dsp,
                    args.val_images, args.int8_images)
    options = SearchOptions(budget=args.budget, population=args.population, seed=args.seed)
    start = time.perf_counter()
    journal = search(spec, options, args.output, args.workers, args.backend, args.resume, progress=not args.json)
    best = write_results(journal, args.output, Evaluator(spec), args.test_images, args.finetune, args.finetune_lr,
                         progress=not args.json)
    wall = time.perf_counter() - start
    records = journal.records
    summary = {"candidates": len(records), "fits": sum(r["fits"] for r in records), "seconds": round(wall, 1),
               "best": best, "output": args.output}
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{args.output}: {len(records)} candidates measured on {board.name} ({summary['fits']} within budget) in "
          f"{wall / 60:.1f} min")
    if best is None:
        print("no candidate fits the budget")
        return 0
    m = best["measured"]
    tuned = f", fine-tuned {best['finetuned']['accuracy']:.4f}" if "finetuned" in best else ""
    print(f"best {best['hash']}: validation accuracy {best['accuracy']:.4f}{tuned}, best.graph's int8 test accuracy "
          f"{best['test_accuracy']:.4f}, SRAM peak {m['sram_peak']:,} B, flash {m['flash']:,} B, "
          f"{m['latency_ms']:.1f} ms; {args.output}/best.graph, report.md, residuals.md, pareto.png")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("supernet", help="train a search space's weight-sharing supernet (checkpoint every "
                                               "epoch, resumable)")
    p.add_argument("--space", required=True, metavar="NAME", help="a search space (mcusim search --list-spaces)")
    p.add_argument("--dataset", required=True, metavar="DS", help="digits, fashion-mnist or npz:PATH")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--rank-ratio", type=float, metavar="R", help="the supernet's low-rank ratio (mcuformer)")
    p.add_argument("--patch", type=positive_int, metavar="P", help="the supernet's patch size (mcuformer)")
    p.add_argument("--variant", metavar="NAME", help="one of SuperNAS's supernet variants (tinyformer)")
    p.add_argument("--validation", type=positive_int, metavar="N",
                   help="training images held out for the search to score candidates on (default: 5000)")
    p.add_argument("--train-images", type=positive_int, metavar="N",
                   help="train on the first N training images only (default: all but the validation set)")
    p.add_argument("-o", "--output", required=True, metavar="CKPT")
    p.add_argument("--resume", action="store_true", help="continue the unfinished run in CKPT")
    p.set_defaults(func=cmd_supernet)

    p = subparsers.add_parser("search", help="evolutionary architecture search on a board, every candidate's SRAM, "
                                             "flash and cycles measured in the emulator")
    p.add_argument("--list-spaces", action="store_true", help="name the search spaces and stop")
    p.add_argument("--space", metavar="NAME")
    _add_budget_options(p, required=False)
    p.add_argument("--budget", type=positive_int, default=120, metavar="N",
                   help="candidates to measure (default: %(default)s)")
    p.add_argument("--population", type=positive_int, default=40, metavar="P", help="default: %(default)s")
    p.add_argument("--workers", type=positive_int, default=1, metavar="W", help="parallel evaluations (default: 1)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local processes, or Ray actors (a local Ray, or the cluster RAY_ADDRESS names)")
    p.add_argument("--supernet", metavar="CKPT", help="default: the space's shipped supernet")
    p.add_argument("--memory-opts", default="none", metavar="OPTS", help="deployment options (mcusim check --help)")
    p.add_argument("--no-dsp", dest="dsp", action="store_false", help="the kernels' plain C path")
    p.add_argument("--val-images", type=positive_int, metavar="N",
                   help="validation images each candidate is scored on (default: all of the supernet's)")
    p.add_argument("--int8-images", type=positive_int, default=500, metavar="N",
                   help="of those, the int8 graph's accuracy (default: %(default)s)")
    p.add_argument("--test-images", type=positive_int, metavar="N", help="the best graph's test images (default: all)")
    p.add_argument("--finetune", type=non_negative_int, default=0, metavar="E",
                   help="train the best candidate on its own for E epochs before exporting best.graph (default: 0)")
    p.add_argument("--finetune-lr", type=float, default=1e-3, metavar="LR",
                   help="its peak learning rate, decayed by a cosine to zero (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", metavar="DIR")
    p.add_argument("--resume", action="store_true", help="continue the search in DIR from its journal")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = subparsers.add_parser("evolve-space", help="MCUFormer's search-space evolution: the supernet's low-rank "
                                                   "ratio and token number, scored on accuracy and measured fit")
    p.add_argument("--space", required=True, metavar="NAME", choices=["mcuformer"])
    p.add_argument("--dataset", required=True, metavar="DS")
    _add_budget_options(p)
    p.add_argument("--rank-ratio", type=float, metavar="R", help="the starting space's (default: the registered)")
    p.add_argument("--patch", type=positive_int, metavar="P", help="the starting space's (default: the registered)")
    p.add_argument("--iterations", type=positive_int, default=4, help="default: %(default)s")
    _add_probe_options(p)
    p.set_defaults(func=cmd_evolve_space)

    p = subparsers.add_parser("supernas", help="TinyFormer's SuperNAS: which supernet variant to search, by the "
                                               "measured share of its candidates within budget and their accuracy")
    p.add_argument("--space", required=True, metavar="NAME", choices=["tinyformer"])
    p.add_argument("--dataset", required=True, metavar="DS")
    _add_budget_options(p)
    p.add_argument("--params", metavar="MIN:MAX", help="bounds on a candidate's parameter count (default: none)")
    _add_probe_options(p)
    p.set_defaults(func=cmd_supernas)


def _add_probe_options(p) -> None:
    """The options of the space-level searches (nas/probe.py)."""
    p.add_argument("--samples", type=positive_int, default=100, metavar="N",
                   help="candidates measured per space for its share within budget (default: %(default)s)")
    p.add_argument("--epochs", type=positive_int, default=1, help="supernet training per space (default: 1)")
    p.add_argument("--train-images", type=positive_int, default=20000, metavar="N", help="default: %(default)s")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, metavar="DIR")
