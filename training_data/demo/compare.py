"""Demo only: compare the report's estimates with the demo's true counts and the tick-box counts.

    python training_data/demo/compare.py demo_output/report/estimates.json demo_output/northmoor_tagged.csv
"""

import json
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
TICK = {"been_hurt_or_harmed": ("hurt_or_harmed", "abuse_neglect"),
        "engaged_in_criminal_activity": ("criminal_activity",),
        "mental_health_issues": ("mental_health",), "risk_of_exploitation": ("exploitation_risk",)}


def main(estimates: str, tagged: str) -> None:
    est = json.loads(Path(estimates).read_text())["themes"]
    t = pd.read_csv(tagged, dtype=str, keep_default_na=False)
    truth = pd.read_csv(HERE / "northmoor_rhi_2025_true_labels.csv").set_index("rhi_id")
    rec = t[t["narrative_status"] == "recorded"]
    print(f"{'theme':<24}{'published':>20}{'true':>6}{'in published':>14}{'in unrounded':>14}")
    pub = raw = 0
    themes = [k for k in est if k in truth.columns]
    for theme in themes:
        r = est[theme]
        true = int(truth.loc[rec["rhi_id"], theme].sum())
        lo = r["ci_low"] if r["ci_low"] is not None else 0
        ok_pub = lo <= true <= r["ci_high"]
        ok_raw = r["unrounded"]["ci_low"] <= true <= r["unrounded"]["ci_high"]
        pub, raw = pub + ok_pub, raw + ok_raw
        shown = f"{r['display']['estimate']} ({r['display']['ci_low']}-{r['display']['ci_high']})"
        print(f"{theme:<24}{shown:>20}{true:>6}{'yes' if ok_pub else 'NO':>14}{'yes' if ok_raw else 'NO':>14}")
    print(f"{pub} of {len(themes)} published intervals and {raw} of {len(themes)} unrounded intervals contain the "
          f"true count (95% intervals: about 1 in 20 is expected to miss).")
    print(f"\n{'tick-box column':<30}{'ticked':>8}{'true (narrative)':>18}")
    for col, parts in TICK.items():
        true = int(truth.loc[rec["rhi_id"], list(parts)].max(axis=1).sum())
        print(f"{col:<30}{int((rec[col] == 'Y').sum()):>8}{true:>18}   ({' or '.join(parts)})")
    print("Tick-boxes miss what workers wrote but did not tick, and cannot answer for themes they lack.")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
