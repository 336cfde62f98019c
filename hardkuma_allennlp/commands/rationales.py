"""
The `rationales` subcommand: faithfulness and agreement metrics (ERASER), an ERASER-format
export and an HTML report of a trained model's rationales, in one pass over the input.

    allennlp rationales MODEL.tar.gz INPUT [--use-dataset-reader] [--html report.html]
        [--eraser predictions.jsonl] [--metrics metrics.json] [-o OVERRIDES]
"""

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Iterator, Optional

from allennlp.commands.subcommand import Subcommand
from allennlp.common import logging as common_logging
from allennlp.common.checks import ConfigurationError, check_for_gpu
from allennlp.common.file_utils import cached_path, open_compressed
from allennlp.data import Instance
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from hardkuma_allennlp.interpret import eraser, html_report
from hardkuma_allennlp.interpret.rationale_evaluator import RationaleEvaluator, summarize

logger = logging.getLogger(__name__)


@Subcommand.register("rationales")
class Rationales(Subcommand):
    """
    Runs a trained rationale model (a `rationale_model` with HardKuma, dependent HardKuma or
    Bernoulli gates, the full-text `rationale_model`, or HardKuma attention) over an input file
    and reports how faithful its rationales are (ERASER's comprehensiveness and sufficiency, at the
    model's own rationale and as AOPC over the top 1/5/10/20/50 % of tokens), how well they agree
    with gold rationales where the input has them (token precision/recall/F1, IOU F1), and what
    they look like (a self-contained HTML page). See `hardkuma_allennlp.interpret`.

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
            help="how many inputs the HTML report shows (its summary covers all; default 100)",
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
        subparser.add_argument("--batch-size", type=int, default=32)
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


def _json_instances(predictor: Predictor, path: str) -> Iterator[Instance]:
    """Instances from JSON lines, each checked by the predictor; errors name the file's line."""
    with open_compressed(cached_path(path)) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            # Our predictors number the lines they check: make it the file's line number.
            predictor._input_lines = number - 1
            try:
                item = predictor.load_line(line)
                yield predictor._json_to_instance(item)
            except ValueError as error:
                message = str(error)
                if not message.startswith("input line"):
                    message = f"input line {number}: {message}"
                raise ValueError(f"{path}: {message}") from None


def run_rationales(args: argparse.Namespace) -> Optional[dict]:
    common_logging.FILE_FRIENDLY_LOGGING = args.file_friendly_logging
    if not (args.html or args.eraser or args.metrics):
        logger.info("no --html, --eraser or --metrics: printing the summary only")
    check_for_gpu(args.cuda_device)
    if not os.path.exists(args.input_file) and "://" not in args.input_file:
        raise ConfigurationError(f"rationales: input file {args.input_file} does not exist")
    archive = load_archive(
        args.archive_file, cuda_device=args.cuda_device, overrides=args.overrides
    )
    predictor = Predictor.from_archive(archive, dataset_reader_to_load="validation")
    reader = predictor._dataset_reader
    evaluator = RationaleEvaluator(archive.model, batch_size=args.batch_size)

    if args.use_dataset_reader:
        instances = reader.read(args.input_file)
    else:
        instances = _json_instances(predictor, args.input_file)

    def indexed(stream) -> Iterator[Instance]:
        for instance in stream:
            reader.apply_token_indexers(instance)
            yield instance

    outputs = {}
    eraser_file = html_records = None
    records_for_summary = []
    try:
        if args.eraser:
            eraser_file = open(args.eraser, "w", encoding="utf-8")
        html_records = []
        for record in evaluator.evaluate(indexed(instances)):
            if eraser_file is not None:
                if record["regression"]:
                    raise ConfigurationError(
                        "rationales: --eraser needs a classifier (ERASER's format holds class "
                        "distributions); this model is a regressor"
                    )
                eraser_file.write(json.dumps(eraser.record_to_eraser(record)) + "\n")
            if len(html_records) < args.html_inputs:
                html_records.append(record)
            # The summary needs only the per-input measures, not the outputs on reduced inputs.
            record.pop("outputs", None)
            records_for_summary.append(record)
    finally:
        if eraser_file is not None:
            eraser_file.close()
    if not records_for_summary:
        raise ConfigurationError(f"rationales: no inputs in {args.input_file}")
    summary = summarize(records_for_summary, evaluator.bins)
    outputs["summary"] = summary
    if args.metrics:
        Path(args.metrics).write_text(json.dumps(summary, indent=2))
    if args.html:
        title = f"Rationales of {Path(args.archive_file).name} on {Path(args.input_file).name}"
        description = (
            f"{summary['inputs']} inputs ({len(html_records)} shown); "
            f"model: {type(archive.model).__name__}; overrides: {args.overrides or 'none'}"
        )
        Path(args.html).write_text(
            html_report.render(html_records, summary, title, description), encoding="utf-8"
        )
    print(json.dumps(summary, indent=2))
    return outputs
