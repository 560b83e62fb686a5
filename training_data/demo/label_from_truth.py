"""Demo only: fill an audit sample's label columns from the demo's true labels.

In real use a worker reads each narrative in the audit file and types 0 or 1. For the bundled
demo the true labels are known (northmoor_rhi_2025_true_labels.csv), so this script plays the
worker, letting the walkthrough show how close the estimate comes.

    python training_data/demo/label_from_truth.py AUDIT.csv
"""

import sys
from pathlib import Path

import pandas as pd

TRUTH = Path(__file__).resolve().parent / "northmoor_rhi_2025_true_labels.csv"


def main(path: str) -> None:
    audit = pd.read_csv(path, dtype=str, keep_default_na=False)
    truth = pd.read_csv(TRUTH, dtype=str, keep_default_na=False).set_index("rhi_id")
    labels = [c for c in truth.columns if c in audit.columns]
    for c in labels:
        audit[c] = audit["rhi_id"].map(truth[c])
    tmp = Path(path).with_suffix(".tmp.csv")
    audit.to_csv(tmp, index=False)
    tmp.replace(path)
    print(f"Filled {len(labels)} label column(s) for {len(audit)} rows of {path} from the demo's true labels.")


if __name__ == "__main__":
    main(sys.argv[1])
