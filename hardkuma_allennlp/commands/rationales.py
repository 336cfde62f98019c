"""
The `rationales` subcommand: faithfulness and agreement metrics (ERASER), an ERASER-format
export and an HTML report of a trained model's rationales, in one pass over the input.

    allennlp rationales MODEL.tar.gz INPUT [--use-dataset-reader] [--html report.html]
        [--eraser predictions.jsonl] [--metrics metrics.json] [-o OVERRIDES]

Outputs are never half-written: each is written to a temporary file in its own directory and
moved into place (`os.replace`) only when the whole run has succeeded, so an existing output
survives any failure byte for byte. When the input has a bad line (or record), the run stops
there with the reader's message naming the file and the line; the ERASER records of the inputs
before it are kept, as `allennlp predict` keeps its predictions, in `PATH.partial` next to the
`--eraser` PATH (which itself is left as it was); metrics and report, which would describe only
part of the input, are not written.
"""

import argparse
import gzip
import json
import logging
import os
import tarfile
import zlib
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional

from allennlp.commands.subcommand import Subcommand
from allennlp.common import logging as common_logging
from allennlp.common.checks import ConfigurationError
from allennlp.data import Instance
from allennlp.models import BasicClassifier, Model
from allennlp.models.archival import Archive, load_archive
from allennlp.predictors import Predictor

from hardkuma_allennlp.commands.outputs import PendingOutput, check_device, check_paths
from hardkuma_allennlp.interpret import eraser, html_report
from hardkuma_allennlp.interpret.rationale_evaluator import RationaleEvaluator, summarize
from hardkuma_allennlp.models.hardkuma_decomposable_attention import (
    HardKumaDecomposableAttention,
)
from hardkuma_allennlp.models.rationale_model import RationaleModel
from hardkuma_allennlp.predictors.input_lines import InputLineCounter, InputLineError

logger = logging.getLogger(__name__)


@Subcommand.register("rationales")
class Rationales(Subcommand):
    """
    Runs a trained rationale model (a `rationale_model` with HardKuma, dependent HardKuma or
    Bernoulli gates, the full-text `rationale_model`, AllenNLP's `basic_classifier` with or without
    a `latent_rationale` encoder, or HardKuma attention) over an input file and reports how
    faithful its rationales are (ERASER's comprehensiveness and sufficiency, at the model's own
    rationale and as AOPC over the top 1/5/10/20/50 % of tokens), how well they agree with gold
    rationales where the input has them (token precision/recall/F1, IOU F1), and what they look
    like (a self-contained HTML page). See `hardkuma_allennlp.interpret`. Any other model is
    refused with a message naming its type and the supported ones.

    Registered as a `Subcommand` with name "rationales" (it shows in `allennlp --help` wherever
    the plugin is found: `.allennlp_plugins` or `--include-package hardkuma_allennlp`).
    """

    def add_subparser(self, parser: argparse._SubParsersAction) -> argparse.ArgumentParser:
        description = (
            "Faithfulness metrics (ERASER comprehensiveness/sufficiency and AOPC), agreement with "
            "gold rationales, an ERASER-format export and an HTML report of a model's rationales."
        )
        subparser = parser.add_parser(
            self.name, description=description, help="Evaluate and show a model's rationales."
        )
        subparser.add_argument("archive_file", type=str, help="the archived model")
        subparser.add_argument(
            "input_file",
            type=str,
            help='JSON lines as for `allennlp predict` (e.g. {"sentence": ...}), or, with '
            "--use-dataset-reader, a file in the dataset's own format",
        )
        subparser.add_argument("--html", type=str, help="write the HTML report here")
        subparser.add_argument(
            "--html-inputs",
            type=int,
            default=100,
            help="how many inputs the HTML report shows (its summary covers all; default 100; "
            "0 shows the summary only)",
        )
        subparser.add_argument(
            "--eraser", type=str, help="write ERASER-format predictions (JSON lines) here"
        )
        subparser.add_argument("--metrics", type=str, help="write the summary metrics here")
        subparser.add_argument(
            "--use-dataset-reader",
            action="store_true",
            help="read the input with the model's (validation) dataset reader, which keeps "
            "gold labels and gold rationales",
        )
        subparser.add_argument(
            "--batch-size", type=int, default=32, help="inputs per forward pass (default 32)"
        )
        subparser.add_argument("--cuda-device", type=int, default=-1)
        subparser.add_argument(
            "-o",
            "--overrides",
            type=str,
            default="",
            help="config overrides, e.g. the gates' test-time decoding: "
            '\'{"model.encoder.gate.decoding": {"type": "threshold", "threshold": 0.5}}\'',
        )
        subparser.add_argument(
            "--file-friendly-logging",
            action="store_true",
            default=False,
            help="outputs tqdm status on separate lines and slows tqdm refresh rate",
        )
        subparser.set_defaults(func=run_rationales)
        return subparser


# The models `RationaleEvaluator` can explain, with the names users know them by and the
# predictor that reads their JSON input (ours: it checks each line and tokenizes as the model's
# dataset reader does, so AllenNLP's `text_classifier` never builds a spaCy tokenizer).
SUPPORTED_MODELS = (
    (
        RationaleModel,
        "rationale_model (HardKuma, dependent HardKuma or Bernoulli gates, or none)",
        "rationale",
    ),
    (
        HardKumaDecomposableAttention,
        "hardkuma_decomposable_attention (HardKuma attention)",
        "hardkuma_attention",
    ),
    (
        BasicClassifier,
        "basic_classifier (AllenNLP's, with or without a latent_rationale encoder)",
        "rationale",
    ),
)

# What `load_archive` raises on a file that is not a model archive.
_NOT_AN_ARCHIVE = (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error, UnicodeDecodeError)


def _check_arguments(args: argparse.Namespace) -> None:
    """Refuses bad arguments before the model is loaded and before anything is written."""
    if args.batch_size < 1:
        raise ConfigurationError(
            f"rationales: --batch-size must be at least 1, got {args.batch_size}"
        )
    if args.html_inputs < 0:
        raise ConfigurationError(
            f"rationales: --html-inputs must be 0 or more (how many inputs the report shows), "
            f"got {args.html_inputs}"
        )
    if args.input_file == "-":
        if args.use_dataset_reader:
            raise ConfigurationError(
                "rationales: --use-dataset-reader reads the dataset's own files, not standard "
                "input; give the file's path, or pipe JSON lines without --use-dataset-reader"
            )
    elif os.path.isdir(args.input_file):
        raise ConfigurationError(
            f"rationales: input file {args.input_file} is a directory, not a file"
        )
    # URLs and `archive.zip!member` are fetched later, and a missing one is named then.
    local = "://" not in args.input_file and "!" not in args.input_file
    if local and args.input_file != "-" and not os.path.exists(args.input_file):
        raise ConfigurationError(f"rationales: input file {args.input_file} does not exist")
    outputs = {
        "--html": [args.html or ""],
        "--eraser": [args.eraser or ""],
        "--metrics": [args.metrics or ""],
        "--eraser's PATH.partial": [f"{args.eraser}.partial" if args.eraser else ""],
    }
    check_paths("rationales", outputs, [args.input_file, args.archive_file])


def _load(args: argparse.Namespace) -> Archive:
    """The model archive, or a message naming the file when it is not one."""
    path = args.archive_file
    if "://" not in path and not os.path.exists(path):
        raise ConfigurationError(f"rationales: model archive {path} does not exist")
    hint = "give the model.tar.gz (or the serialization directory) that `allennlp train` wrote" + (
        "; a weights file such as best.th holds no config" if path.endswith(".th") else ""
    )
    try:
        return load_archive(path, cuda_device=args.cuda_device, overrides=args.overrides)
    except _NOT_AN_ARCHIVE as error:
        raise ConfigurationError(
            f"rationales: {path} is not a model archive ({error}): {hint}"
        ) from None
    except FileNotFoundError as error:
        if os.path.isdir(path):
            raise ConfigurationError(
                f"rationales: {path} is a directory without a trained model ({error}): {hint}"
            ) from None
        raise


def model_type(archive: Archive) -> str:
    """The model's registered name as the archive's config gives it (e.g. "rationale_model")."""
    config = archive.config.as_dict(quiet=True).get("model", {})
    return str(config.get("type", "?")) if isinstance(config, dict) else "?"


def predictor_for(archive: Archive) -> str:
    """
    The predictor that reads JSON input for the archive's model; refuses, with one message naming
    the model type, a model `rationales` cannot explain.
    """
    model: Model = archive.model
    for cls, _, predictor in SUPPORTED_MODELS:
        if isinstance(model, cls):
            return predictor
    supported = "; ".join(name for _, name, _ in SUPPORTED_MODELS)
    raise ConfigurationError(
        f"rationales: cannot explain a model of type {model_type(archive)!r} "
        f"({type(model).__module__}.{type(model).__name__}). Supported: {supported}."
    )


class _Input:
    """
    The input instances, and what stopped them: an input error (a `ValueError`: a bad line of
    JSON or of the dataset's own format) ends the stream and is kept in `error`, so that the
    inputs before it are still evaluated. `ids` holds the `id` of each JSON input that has one,
    by its position.
    """

    def __init__(self) -> None:
        self.error: Optional[ValueError] = None
        self.ids: Dict[int, Any] = {}
        self.count = 0

    def guard(self, stream: Iterable[Instance]) -> Iterator[Instance]:
        try:
            for instance in stream:
                yield instance
                self.count += 1
        except ValueError as error:
            self.error = error


def _json_instances(predictor: InputLineCounter, path: str, state: _Input) -> Iterator[Instance]:
    """Instances from JSON lines, each checked by the predictor; errors name the file's line."""
    for item in predictor.read_json_lines(path):
        try:
            instance = predictor._json_to_instance(item)  # type: ignore[attr-defined]
        except (KeyError, ValueError) as error:
            # Raised by the dataset reader, e.g. a text without any token.
            problem = (
                f"expected the key {error.args[0]!r}" if isinstance(error, KeyError) else error
            )
            raise InputLineError(
                f"{path}: input line {predictor._input_lines}: {problem}"
            ) from None
        if "id" in item:
            state.ids[state.count] = item["id"]
        yield instance


def _input_error(error: ValueError, partial: Optional[str], kept: int) -> ValueError:
    """The input error, with what became of the outputs."""
    if partial:
        note = (
            f" [rationales: the ERASER records of the {kept} input(s) before it are in "
            f"{partial}; no other output was written and existing outputs are unchanged]"
        )
    else:
        note = " [rationales: no output was written; existing outputs are unchanged]"
    try:
        return type(error)(f"{error}{note}")
    except Exception:  # an error class with another constructor
        return ValueError(f"{error}{note}")


def run_rationales(args: argparse.Namespace) -> Optional[dict]:
    common_logging.FILE_FRIENDLY_LOGGING = args.file_friendly_logging
    if not (args.html or args.eraser or args.metrics):
        logger.info("no --html, --eraser or --metrics: printing the summary only")
    _check_arguments(args)
    check_device("rationales", args.cuda_device)
    archive = _load(args)
    predictor = Predictor.from_archive(
        archive, predictor_for(archive), dataset_reader_to_load="validation"
    )
    reader = predictor._dataset_reader
    evaluator = RationaleEvaluator(archive.model, batch_size=args.batch_size)

    state = _Input()
    if args.use_dataset_reader:
        instances = state.guard(reader.read(args.input_file))
    else:
        instances = state.guard(
            _json_instances(predictor, args.input_file, state)  # type: ignore[arg-type]
        )

    def indexed(stream: Iterable[Instance]) -> Iterator[Instance]:
        for instance in stream:
            reader.apply_token_indexers(instance)
            yield instance

    pending: List[PendingOutput] = []
    html_records: List[Dict] = []
    records_for_summary: List[Dict] = []
    try:
        eraser_file = None
        if args.eraser:
            eraser_file = PendingOutput(args.eraser)
            pending.append(eraser_file)
        for record in evaluator.evaluate(indexed(instances)):
            if record["index"] in state.ids:
                record["id"] = state.ids.pop(record["index"])
            if eraser_file is not None:
                if record["regression"]:
                    raise ConfigurationError(
                        "rationales: --eraser needs a classifier (ERASER's format holds class "
                        "distributions); this model is a regressor"
                    )
                eraser_file.file.write(json.dumps(eraser.record_to_eraser(record)) + "\n")
            if len(html_records) < args.html_inputs:
                html_records.append(record)
            # The summary needs only the per-input measures, not the outputs on reduced inputs.
            record.pop("outputs", None)
            records_for_summary.append(record)
        if state.error is not None:
            partial = None
            if eraser_file is not None and records_for_summary:
                partial = eraser_file.commit(f"{args.eraser}.partial")
            raise _input_error(state.error, partial, len(records_for_summary)) from state.error
        if not records_for_summary:
            source = "standard input" if args.input_file == "-" else args.input_file
            raise ConfigurationError(f"rationales: no inputs in {source}")
        summary = summarize(records_for_summary, evaluator.bins)
        if args.metrics:
            metrics_file = PendingOutput(args.metrics)
            pending.append(metrics_file)
            metrics_file.file.write(json.dumps(summary, indent=2))
        if args.html:
            source = "standard input" if args.input_file == "-" else Path(args.input_file).name
            title = f"Rationales of {Path(args.archive_file).name} on {source}"
            description = (
                f"{summary['inputs']} inputs ({len(html_records)} shown); "
                f"model: {type(archive.model).__name__}; overrides: {args.overrides or 'none'}"
            )
            html_file = PendingOutput(args.html)
            pending.append(html_file)
            html_file.file.write(html_report.render(html_records, summary, title, description))
        for output in pending:
            output.commit()
        if args.eraser and os.path.exists(f"{args.eraser}.partial"):
            # The predictions of an earlier run that stopped at a bad line: this run's whole
            # export replaces them.
            os.remove(f"{args.eraser}.partial")
    finally:
        for output in pending:
            output.discard()
    print(json.dumps(summary, indent=2))
    return {"summary": summary}
