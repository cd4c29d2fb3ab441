"""The loss curve of a training run (matplotlib, in the command line's environment)."""

from __future__ import annotations

import json
from pathlib import Path


def plot_loss(loss_log: Path, out: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in loss_log.open() if line.strip()]
    steps = [row["step"] for row in rows]
    losses = [row["loss"] for row in rows]
    window = 8
    smooth = [sum(losses[max(0, i - window + 1): i + 1]) / len(losses[max(0, i - window + 1): i + 1])
              for i in range(len(losses))]
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot(steps, losses, alpha=0.35, label="per optimizer step")
    axes.plot(steps, smooth, label=f"mean of {window} steps")
    axes.set(xlabel="optimizer step", ylabel="answer-token cross-entropy", title=title)
    axes.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out
