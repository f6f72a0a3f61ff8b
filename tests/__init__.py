"""rtmdet_plus's tests, grouped by concern (models, datasets, evaluation, engine, deploy, tools,
equivalence with mmdet, integration trainings, configs). ``REPO`` is the repository root."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
