"""The `mcusim` commands of the architecture search, registered through the `mcusim.commands` entry
point; their options follow mcusim/cli.py's one vocabulary, and every command takes --json:

    mcusim supernet --space NAME --dataset DS [--epochs E] [--val-images N] [--train-images N]
                    [--random N] [--teacher MODEL] [--single-path] -o CKPT [--resume]
    mcusim search --space NAME --board B [--sram KB] [--flash KB] [--latency-ms MS] [--budget N]
                  [--like MODEL] [--workers W] [--backend local|ray] [--supernet CKPT] -o DIR [--resume | --force]
    mcusim search --list-spaces
    mcusim evolve-space --space mcuformer --dataset DS --board B [--candidates N] -o DIR [--force]
    mcusim supernas --space tinyformer --dataset DS --board B [--params MIN:MAX] [--candidates N] -o DIR [--force]

-o is checked before any work (mcusim/files.py): a results folder must be empty, or hold this
command's journal (search: --resume continues it, --force starts over; evolve-space and supernas
continue theirs), or be given with --force.
"""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from mcusim.cli import (add_board, add_force, add_images, add_json, add_option, add_output, add_seed, board,
                        non_negative_int, positive_float, positive_int, print_json)
from mcusim.errors import UsageError
from mcusim.files import output_file, output_folder
from mcusim.models.cli import add_dataset, add_deploy_options, add_training_options


def cmd_supernet(args) -> int:
    from mcusim.models.train import TrainOptions

    from .supernet import VALIDATION, SupernetTraining, train_supernet

    output_file(args.output, "-o")
    options = TrainOptions(**{k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                                 ("lr", args.lr), ("seed", args.seed)) if v is not None})
    training = SupernetTraining(sandwich=not args.single_path, random=args.random, teacher=args.teacher)
    meta = train_supernet(_supernet_space(args), args.dataset, args.output, options, resume=args.resume,
                          command=shlex.join(["mcusim", *sys.argv[1:]]), validation=args.val_images or VALIDATION,
                          train_images=args.train_images, progress=not args.json, training=training)
    last = meta["history"][-1] if meta["history"] else {}
    largest, smallest = last.get("largest_accuracy"), last.get("smallest_accuracy")
    if args.json:
        print_json({"output": args.output, "space": args.space, "epochs": meta["epoch"], "largest_accuracy": largest,
                    "smallest_accuracy": smallest})
        return 0
    nan = float("nan")
    print(f"{args.output}: {args.space} supernet after {meta['epoch']} epochs, validation accuracy of the largest "
          f"candidate {largest if largest is not None else nan:.4f}, of the smallest "
          f"{smallest if smallest is not None else nan:.4f}")
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


def _results_folder(args, journal: str, inputs: list = ()) -> None:
    """-o DIR, checked before any work (created if missing): empty, or holding `journal` (this
    command's, from an earlier run: the command resumes it or says what to do), or with --force any."""
    output_folder(args.output, "-o", args.force or (Path(args.output) / journal).exists(), inputs)


def cmd_evolve_space(args) -> int:
    from .space_evolution import TRAIL, EvolutionOptions, evolve

    target = board(args.board)
    space = _supernet_space(args)
    options = EvolutionOptions(epochs=args.epochs, iterations=args.iterations, samples=args.candidates,
                               train_images=args.train_images, seed=args.seed)
    _results_folder(args, TRAIL)
    chosen = evolve(space, args.dataset, target, _budget(target, args), options, args.output, progress=not args.json)
    if args.json:
        print_json({"output": args.output, "report": f"{args.output}/evolution.md", "chosen": chosen})
        return 0
    print(f"{args.output}/evolution.md: chosen rank ratio {chosen['rank_ratio']:g}, patch {chosen['patch']} "
          f"({chosen['tokens']} tokens): accuracy {chosen['accuracy']:.4f}, share within budget {chosen['share']:.2f}; "
          f"train its supernet with `mcusim supernet --space {args.space} --rank-ratio {chosen['rank_ratio']:g} "
          f"--patch {chosen['patch']} --dataset {args.dataset} -o CKPT`")
    return 0


def cmd_supernas(args) -> int:
    from .spaces import get
    from .supernas import TRAIL, VARIANTS, SuperNASOptions, supernas

    target = board(args.board)
    space = get(args.space)
    params_min, params_max = args.params or (0, None)
    options = SuperNASOptions(samples=args.candidates, params_min=params_min, params_max=params_max,
                              epochs=args.epochs, train_images=args.train_images, seed=args.seed)
    _results_folder(args, TRAIL)
    chosen = supernas(space, VARIANTS, args.dataset, target, _budget(target, args), options, args.output,
                      progress=not args.json)
    if args.json:
        print_json({"output": args.output, "report": f"{args.output}/supernas.md", "chosen": chosen})
        return 0
    score = "" if chosen["accuracy"] is None else f", accuracy {chosen['accuracy']:.4f}"
    print(f"{args.output}/supernas.md: chosen variant {chosen['variant']} (acceptance {chosen['acceptance']:.0%}{score}); "
          f"its space is recorded in {args.output}/supernas.jsonl")
    return 0


def _budget(target, args):
    from .measure import Budget

    return Budget.of(target, args.sram, args.flash, args.latency_ms)


def _add_budget_options(p, required: bool = True) -> None:
    add_board(p, required=required, purpose="the board whose SRAM and flash are the budget")
    p.add_argument("--sram", type=positive_float, metavar="KB", help="SRAM budget in KiB (default: the board's)")
    p.add_argument("--flash", type=positive_float, metavar="KB", help="flash budget in KiB (default: the board's)")
    p.add_argument("--latency-ms", type=positive_float, metavar="MS", help="latency budget (default: none)")


def cmd_search(args) -> int:
    from .spaces import SPACES, get

    if args.list_spaces:
        if args.json:
            print_json([{"name": name, "description": space.description} for name, space in SPACES.items()])
            return 0
        for name, space in SPACES.items():
            print(f"{name:12} {space.description}")
        return 0
    if not args.space or not args.board or not args.output:
        raise UsageError("mcusim search needs --space, --board and -o DIR (or --list-spaces)")
    from mcusim.models.train import read_checkpoint_file

    from .evaluate import EvalSpec, Evaluator, reference_figures, shipped_graph
    from .measure import Budget
    from .report import write_results
    from .search import JOURNAL, SearchOptions, search
    from .supernet import SHIPPED

    space = get(args.space)
    target = board(args.board)
    supernet = args.supernet or SHIPPED.get(space.name)
    if supernet is None or not Path(supernet).exists():
        raise UsageError(f"no supernet for the {space.name} space: train one (mcusim supernet) and pass --supernet")
    meta = read_checkpoint_file(supernet)[0]
    if meta.get("supernet") != space.name:
        raise UsageError(f"{supernet} is not a supernet of the {space.name} space")
    if args.like is not None:
        given = [flag for flag, value in (("--sram", args.sram), ("--flash", args.flash),
                                          ("--latency-ms", args.latency_ms)) if value is not None]
        if given:
            raise UsageError(f"--like {args.like} sets the budget: drop {', '.join(given)}")
        shipped_graph(args.like, meta["dataset"])  # a usage error before any work
    _results_folder(args, JOURNAL, inputs=[supernet])
    if args.like is not None:
        f = reference_figures(args.like, target, meta["dataset"], args.memory_opts, args.dsp)
        budget = Budget(f.sram_peak, f.flash, f.latency_ms)
    else:
        budget = _budget(target, args)
    spec = EvalSpec(str(supernet), target.name, budget, meta["dataset"], args.memory_opts, args.dsp,
                    args.val_images, args.int8_val_images, like=args.like)
    options = SearchOptions(budget=args.budget, population=args.population, seed=args.seed)
    start = time.perf_counter()
    journal = search(spec, options, args.output, args.workers, args.backend, args.resume, progress=not args.json,
                     replace=args.force)
    best = write_results(journal, args.output, Evaluator(spec), args.test_images, args.finetune, args.finetune_lr,
                         progress=not args.json)
    wall = time.perf_counter() - start
    records = journal.records
    summary = {"candidates": len(records), "fits": sum(r["fits"] for r in records), "seconds": round(wall, 1),
               "best": best, "output": args.output}
    if args.json:
        print_json(summary)
        return 0
    print(f"{args.output}: {len(records)} candidates measured on {target.name} ({summary['fits']} within budget) in "
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


def _add_supernet(sub) -> None:
    p = sub.add_parser("supernet", help="train a search space's weight-sharing supernet (checkpoint every epoch, "
                                        "resumable)")
    p.add_argument("--space", required=True, metavar="NAME", help="a search space (mcusim search --list-spaces)")
    add_dataset(p)
    add_training_options(p)
    add_seed(p, "the training run")
    p.add_argument("--rank-ratio", type=positive_float, metavar="R", help="the supernet's low-rank ratio (mcuformer)")
    p.add_argument("--patch", type=positive_int, metavar="P", help="the supernet's patch size (mcuformer)")
    p.add_argument("--variant", metavar="NAME", help="one of SuperNAS's supernet variants (tinyformer)")
    add_images(p, "val", "training images held out for the search to score candidates on (default: 5000)",
               aliases=("--validation",))
    add_images(p, "train", "train on the first N training images only (default: all but the validation set)")
    p.add_argument("--random", type=int, default=2, metavar="N",
                   help="candidates drawn per step beside the largest and the smallest (sandwich rule; default: 2)")
    p.add_argument("--teacher", metavar="MODEL", help="a trained model of the same dataset, a shipped model's name "
                                                      "(vit-fmnist) or a checkpoint: the largest candidate learns its "
                                                      "predictions too (knowledge distillation), and so does the "
                                                      "search's fine-tuned best")
    p.add_argument("--single-path", action="store_true",
                   help="one candidate drawn per step, on the labels (AutoFormer, SPOS) instead of the sandwich rule "
                        "with in-place distillation")
    add_output(p, "CKPT", help="the supernet's checkpoint, written after every epoch")
    p.add_argument("--resume", action="store_true", help="continue the unfinished run in CKPT")
    add_json(p)
    p.set_defaults(func=cmd_supernet)


def _add_search(sub) -> None:
    p = sub.add_parser("search", help="evolutionary architecture search on a board, every candidate's SRAM, "
                                      "flash and cycles measured in the emulator")
    p.add_argument("--list-spaces", action="store_true", help="name the search spaces and stop")
    p.add_argument("--space", metavar="NAME", help="a search space (--list-spaces)")
    _add_budget_options(p, required=False)
    p.add_argument("--budget", type=positive_int, default=120, metavar="N",
                   help="candidates to measure (default: %(default)s)")
    p.add_argument("--population", type=positive_int, default=40, metavar="P", help="default: %(default)s")
    p.add_argument("--workers", type=positive_int, default=1, metavar="W", help="parallel evaluations (default: 1)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local processes, or Ray actors (a local Ray, or the cluster RAY_ADDRESS names)")
    p.add_argument("--supernet", metavar="CKPT", help="default: the space's shipped supernet")
    p.add_argument("--like", metavar="MODEL", help="the budget is a shipped model's measured SRAM peak, flash and "
                                                   "latency on the board (instead of --sram, --flash, --latency-ms); "
                                                   "the report sets the best candidate beside it")
    add_deploy_options(p)
    add_images(p, "val", "validation images each candidate is scored on (default: all of the supernet's)")
    add_images(p, "int8-val", "of those, the ones the int8 graph is scored on too (default: %(default)s)",
               default=500, aliases=("--int8-images",))
    add_images(p, "test", "the best graph's test images (default: all)")
    p.add_argument("--finetune", type=non_negative_int, default=0, metavar="E",
                   help="train the best candidate on its own for E epochs before exporting best.graph (default: 0)")
    p.add_argument("--finetune-lr", type=positive_float, default=1e-3, metavar="LR",
                   help="its peak learning rate, decayed by a cosine to zero (default: %(default)s)")
    add_seed(p, "the search")
    add_output(p, "DIR", required=False, help="the results folder: journal, best.graph, report")
    p.add_argument("--resume", action="store_true", help="continue the search in DIR from its journal")
    add_force(p)
    add_json(p)
    p.set_defaults(func=cmd_search)


def _space_search_parser(sub, name: str, space: str, help: str):
    """The parser of a space-level search of `space`: --space, --dataset and the budget."""
    p = sub.add_parser(name, help=help)
    p.add_argument("--space", required=True, metavar="NAME", choices=[space], help=space)
    add_dataset(p)
    _add_budget_options(p)
    return p


def _add_evolve_space(sub) -> None:
    p = _space_search_parser(sub, "evolve-space", "mcuformer", "MCUFormer's search-space evolution: the supernet's "
                             "low-rank ratio and token number, scored on accuracy and measured fit")
    p.add_argument("--rank-ratio", type=positive_float, metavar="R",
                   help="the starting space's (default: the registered)")
    p.add_argument("--patch", type=positive_int, metavar="P", help="the starting space's (default: the registered)")
    p.add_argument("--iterations", type=positive_int, default=4, metavar="N", help="default: %(default)s")
    _add_probe_options(p)
    p.set_defaults(func=cmd_evolve_space)


def _parameter_range(text: str) -> tuple[int, int | None]:
    """An argparse type: MIN:MAX parameter counts (either left out: 0, no bound), 0 <= MIN <= MAX."""
    low, colon, high = text.partition(":")
    bounds = int(low or 0), int(high) if high else None
    if not colon or bounds[0] < 0 or (bounds[1] is not None and bounds[1] < bounds[0]):
        raise ValueError(text)
    return bounds


_parameter_range.__name__ = "MIN:MAX parameter range"


def _add_supernas(sub) -> None:
    p = _space_search_parser(sub, "supernas", "tinyformer", "TinyFormer's SuperNAS: which supernet variant to "
                             "search, by the measured share of its candidates within budget and their accuracy")
    p.add_argument("--params", type=_parameter_range, metavar="MIN:MAX",
                   help="bounds on a candidate's parameter count, e.g. 50000:400000 (default: none)")
    _add_probe_options(p)
    p.set_defaults(func=cmd_supernas)


def _add_probe_options(p) -> None:
    """The options of the space-level searches (nas/probe.py)."""
    add_option(p, "--candidates", type=positive_int, default=100, metavar="N", aliases=("--samples",),
               help="candidates measured per space for its share within budget (default: %(default)s)")
    p.add_argument("--epochs", type=positive_int, default=1, metavar="E",
                   help="supernet training per space (default: %(default)s)")
    add_images(p, "train", "training images per supernet (default: %(default)s)", default=20000)
    add_seed(p, "the spaces and candidates drawn")
    add_output(p, "DIR", help="the results folder (resumable)")
    add_force(p)
    add_json(p)


def register(subparsers) -> None:
    for add in (_add_supernet, _add_search, _add_evolve_space, _add_supernas):
        add(subparsers)
