"""What a metric and a metric source may be called, and what a metric value may be: shared by points and rules."""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import BadInput

NAME_RE = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")
SOURCE_RE = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")
TRAINING = "training"  # read from the producing run, never written
EVALUATION = "evaluation"
PRODUCTION = "production"
PRECEDENCE = (EVALUATION, PRODUCTION, TRAINING)  # ArtifactVersion.metric(name) without a source



def check_source(source: str, *, what: str = "source") -> str:
    if not isinstance(source, str) or not SOURCE_RE.fullmatch(source):
        raise BadInput(f"{what} {str(source)[:80]!r} is not a valid source name: 1-64 characters of "
                       "A-Z a-z 0-9 _ . : / -", source=str(source)[:80])
    if source == TRAINING:
        raise BadInput(f"{what} 'training' is reserved: it is read from the run that produced the version (log "
                       "training metrics on the run with logMetrics); use evaluation, production or a name of "
                       "your own", source=source)
    return source


def check_name(name: Any, *, where: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise BadInput(f"{where}: metric name {str(name)[:80]!r} is not valid: 1-128 characters of "
                       "A-Z a-z 0-9 _ . : / -", metric=str(name)[:80])
    return name


def check_value(value: Any, *, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"{where}: the value must be a number, got {type(value).__name__} {str(value)[:40]!r}")
    number = float(value)
    if not math.isfinite(number):
        raise BadInput(f"{where}: the value must be finite, got {number}")
    return number
