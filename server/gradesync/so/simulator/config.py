"""The simulator's configuration and seed documents (the shapes of docs/simulator.md).

Everything here is a pydantic model so that ``PATCH /_sim/config`` and
``POST /_sim/seed`` reject a typo instead of silently ignoring it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Mode = Literal["partial", "atomic", "atomic-opaque"]
SubjectKind = Literal["score", "comment"]

# Fault names in the fixed order in which one random draw is mapped onto them:
# changing this order would change which request gets which fault for a seed.
FAULT_KINDS: tuple[str, ...] = ("500", "502", "503", "504", "drop_before", "drop_after", "slow")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Faults(_Strict):
    """Probabilities per request (at most one fault per request)."""

    e500: float = Field(0.0, alias="500", ge=0, le=1)
    e502: float = Field(0.0, alias="502", ge=0, le=1)
    e503: float = Field(0.0, alias="503", ge=0, le=1)
    e504: float = Field(0.0, alias="504", ge=0, le=1)
    drop_before: float = Field(0.0, ge=0, le=1)
    drop_after: float = Field(0.0, ge=0, le=1)
    slow: float = Field(0.0, ge=0, le=1)
    slow_seconds: float = Field(2.0, ge=0)

    @model_validator(mode="after")
    def _at_most_one(self) -> Faults:
        if sum(self.rates().values()) > 1 + 1e-9:
            raise ValueError("fault rates must add up to at most 1 (one fault per request)")
        return self

    def rates(self) -> dict[str, float]:
        """Fault name → probability, in the order of ``FAULT_KINDS``."""
        dumped = self.model_dump(by_alias=True)
        return {kind: dumped[kind] for kind in FAULT_KINDS}


class RateLimit(_Strict):
    requests_per_second: float = Field(gt=0)
    burst: int = Field(1, ge=1)


class SimConfig(_Strict):
    mode: Mode = "partial"
    token_lifetime: int = Field(300, ge=1)
    revoke_old_tokens: bool = True
    clock_offset: float = 0.0
    max_batch: int = Field(100, ge=1)
    rate_limit: RateLimit | None = None
    faults: Faults = Field(default_factory=Faults)
    fault_paths: list[str] = Field(default_factory=lambda: ["/api/v1/grades/batch"])
    seed: int | None = None

    def public(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")

    def patched(self, patch: dict[str, Any]) -> SimConfig:
        """A new config: this one with ``patch`` merged in (nested objects merge too)."""
        merged = _deep_merge(self.public(), patch)
        return SimConfig.model_validate(merged)

    def applies_to(self, path: str) -> bool:
        """Whether faults and the rate limit apply to a request for ``path``."""
        return "*" in self.fault_paths or path in self.fault_paths


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class StudentSeed(_Strict):
    student_id: str = Field(pattern=r"^\d{10}(\d{2})?$")
    full_name: str
    date_of_birth: str | None = None


class SubjectSeed(_Strict):
    code: str
    name: str
    kind: SubjectKind


class ClassSeed(_Strict):
    class_name: str
    grade: int = Field(ge=1, le=12)
    school_year: str = Field(pattern=r"^\d{4}-\d{4}$")
    subjects: list[SubjectSeed] = Field(default_factory=list)
    students: list[StudentSeed] = Field(default_factory=list)


class SchoolSeed(_Strict):
    school_id: str
    name: str = ""
    client_id: str
    client_secret: str
    classes: list[ClassSeed] = Field(default_factory=list)


class WindowSeed(_Strict):
    id: str
    school_year: str
    semester: str
    opens_at: AwareDatetime
    closes_at: AwareDatetime


class SeedDocument(_Strict):
    """The body of ``POST /_sim/seed`` and of a ``--fixture`` file."""

    schools: list[SchoolSeed] = Field(default_factory=list)
    windows: list[WindowSeed] = Field(default_factory=list)
    config: dict[str, Any] | None = None  # only read from --fixture files
