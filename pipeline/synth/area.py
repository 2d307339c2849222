"""The generator's own project area: the nine SPSC municipalities its sample data is about.

The pipeline itself takes a project's municipalities from its ``spsc.yml``; only the sample
data generator, which writes the SPSC example's raw files, names them here.
"""

from __future__ import annotations

PROJECT_MUNICIPALITIES = (
    "bosansko_grahovo", "bosanski_petrovac", "drvar", "glamoc", "kljuc", "livno",
    "sanski_most", "mrkonjic_grad", "ribnik",
)
