"""Published AVQA numbers shown beside our rows in `results/<dataset>/table5.{csv,md}`.

- Every row of the MCD paper's Table V: its total ("Avg", the share of all val questions answered
  right) and its "Ensemble HAVF" mark (✓: the method with the AVQA paper's HAVF ensemble), e.g.
  PSTP-Net 90.2 ×, MCM w/o SA 89.5 ×, MCM w/ SA 90.8 × (`paper_results.csv`, table V).
- The official per-type results of HCRN, the best HAVF backbone, from the AVQA paper (Yang et al.
  2022; shared/docs/avqa-facts.md), alone and with HAVF; HCRN+HAVF's total 89.0 is Table V's row.

Rows carry the accuracy columns of the `avqa` taxonomy (empty where not published), `ensemble_havf`
(Table V rows) and a `source`.
"""

from __future__ import annotations

from mcd_core.scoring.experiments import read_paper_results

TYPE_KEYS = ("which", "come_from", "happening", "where", "why", "before_next", "when", "used_for", "avqa_avg")
# AVQA paper, official per-type results (percent), in TYPE_KEYS order.
HCRN = (83.7, 84.1, 80.2, 80.9, 52.3, 74.0, 57.1, 70.6, 82.5)
HCRN_HAVF = (89.8, 92.8, 86.0, 84.4, 57.0, 80.0, 52.4, 82.4, 89.0)
# The paper's Table V in printed order.
TABLE_V_ROWS = ("HME", "PSAC", "LADNet", "ACRTransformer", "HGA", "HCRN", "PSTP-Net", "MCM w/o SA (Ours)",
                "MCM w/ SA (Ours)")


def reference_rows() -> list[dict[str, str]]:
    """Published rows as score-table rows (method, accuracy columns, source)."""
    rows = [{"method": "HCRN (AVQA paper)", **{k: f"{v:.1f}" for k, v in zip(TYPE_KEYS, HCRN)},
             "ensemble_havf": "×", "source": "AVQA paper (Yang et al. 2022), official per-type results"},
            {"method": "HCRN+HAVF (AVQA paper)", **{k: f"{v:.1f}" for k, v in zip(TYPE_KEYS, HCRN_HAVF)},
             "ensemble_havf": "✓", "source": "AVQA paper (Yang et al. 2022), official per-type results; MCD Table V 89.0"}]
    paper = read_paper_results()
    for name in TABLE_V_ROWS:
        rows.append({"method": f"{name.replace(' (Ours)', '')} (MCD paper)", "avqa_avg": paper[("V", name)]["avqa_avg"],
                     "ensemble_havf": paper[("V", name)]["ensemble_havf"],
                     "source": "MCD paper Table V (total only)"})
    return rows
