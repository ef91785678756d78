"""Runs the rdklib rules over the benchmark corpus the way rdklib's Lambda handler does
(Evaluator.handle on each event, as the Python runtime delivers it: parsed from the wire text),
with the final PutEvaluations replaced by returning the evaluations, so nothing calls AWS.

    python harness.py CORPUS_DIR OUT.json [SECONDS_PER_RULE]

Prints and writes items/s (median of whole-corpus rounds, one process, one core) and how many
items ended in each compliance value."""

import contextlib
import json
import os
import statistics
import sys
import time
from importlib import metadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rdklib.util.evaluations as evaluations  # noqa: E402

# rdklib ends every change invocation with process_evaluations(), which calls PutEvaluations.
evaluations.process_evaluations = lambda event, client_factory, built: built

from rdklib import Evaluator  # noqa: E402
from rules import Ec2InstanceBaseline, S3BucketEncryption  # noqa: E402

SUBJECTS = {
    "s3-bucket-encryption": Evaluator(S3BucketEncryption(), ["AWS::S3::Bucket"]),
    "ec2-instance-baseline": Evaluator(Ec2InstanceBaseline(), ["AWS::EC2::Instance"]),
}


def run(evaluator, lines):
    results = []
    for line in lines:
        results.append(evaluator.handle(json.loads(line), None))
    return results


def tally(results):
    counts = {}
    for result in results:
        key = result[0]["ComplianceType"] if isinstance(result, list) and len(result) == 1 else "error"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 4.0
    report = {"python": sys.version.split()[0], "rdklib": metadata.version("rdklib"), "rules": {}}
    for rule, evaluator in SUBJECTS.items():
        with open(os.path.join(corpus, f"{rule}.jsonl")) as f:
            lines = [line for line in f if line.strip()]
        # rdklib prints on deleted items; keep the terminal readable, the cost stays in.
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            counts = tally(run(evaluator, lines))
            run(evaluator, lines)  # warm-up
            rounds = []
            started = time.perf_counter()
            while time.perf_counter() - started < seconds or len(rounds) < 5:
                t0 = time.perf_counter()
                run(evaluator, lines)
                rounds.append(time.perf_counter() - t0)
        per_second = len(lines) / statistics.median(rounds)
        report["rules"][rule] = {"items": len(lines), "rounds": len(rounds), "items_per_second": per_second, "tally": counts}
        print(f"rdklib {rule}: {per_second:,.0f} items/s ({len(lines)} items x {len(rounds)} rounds) {counts}")
    with open(out, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
