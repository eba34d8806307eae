"""What the early-warning API and pages give out."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from indivisible.schemas import Input, StoredMoment


class IndicatorRead(BaseModel):
    key: str
    month: date
    events: int
    fatalities: int
    events_mean_3: float | None
    events_mean_12: float | None
    fatalities_mean_12: float | None
    events_year_on_year: float | None
    events_month_on_month: float | None
    fatalities_year_on_year: float | None
    # Events by event type (GED's type of violence, ACLED's event type).
    events_by_type: dict[str, int] = {}


class FlagRead(BaseModel):
    key: str
    month: date
    metric: str
    observed: int
    expected: float
    probability: float
    baseline_months: list[date]
    baseline_values: list[int]
    distribution: str
    explanation: str


class ScoreRead(BaseModel):
    model: str
    horizon: int
    mse_log1p: float
    poisson_deviance: float
    skill: float
    cells: int


class ForecastRead(BaseModel):
    key: str
    horizon: int
    month: date
    fatalities: float
    model: str
    # The model's backtest at this horizon: a forecast is never given without it.
    skill: float
    mse_log1p: float


class Region(BaseModel):
    """A set of states and where it comes from (a named group, an organisation on a date,
    a state's security belt)."""

    spec: str
    title: str
    countries: list[str]
    source: str


class Dashboard(BaseModel):
    key: str
    title: str
    countries: list[str]
    region: Region | None
    synthetic: bool
    sources: list[str]
    months: list[date]
    events: list[int]
    fatalities: list[int]
    flags: list[FlagRead]
    forecasts: list[ForecastRead]
    backtest: list[ScoreRead]
    backtest_origins: list[date]
    # Fatalities over the last 12 months, by country (the map).
    last_year: dict[str, int]


class AlertCondition(StrEnum):
    above = "above"
    anomalous = "anomalous"


class AlertIndicator(StrEnum):
    events = "events"
    fatalities = "fatalities"
    events_mean_3 = "events_mean_3"
    events_year_on_year = "events_year_on_year"
    fatalities_year_on_year = "fatalities_year_on_year"


class AlertRuleCreate(Input):
    """A rule for your state's users: a country's or region's indicator above a threshold,
    or an anomaly flag on events or fatalities."""

    name: str = Field(min_length=1, max_length=200)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    region: str | None = Field(
        default=None,
        max_length=60,
        validate_default=True,
        description="central-asia, org:<code>, belt:<state>.",
    )
    indicator: AlertIndicator
    condition: AlertCondition
    threshold: float | None = Field(default=None, ge=0, validate_default=True)

    @field_validator("region")
    @classmethod
    def _one_place(cls, region: str | None, info: ValidationInfo) -> str | None:
        if (region is None) == (info.data.get("country") is None):
            raise ValueError("give a country or a region, not both")
        return region

    @field_validator("threshold")
    @classmethod
    def _threshold_for_above(cls, threshold: float | None, info: ValidationInfo) -> float | None:
        condition = info.data.get("condition")
        if condition == AlertCondition.above and threshold is None:
            raise ValueError("required when the condition is 'above'")
        if condition == AlertCondition.anomalous:
            if threshold is not None:
                raise ValueError("not used when the condition is 'anomalous'")
            if info.data.get("indicator") not in (AlertIndicator.events, AlertIndicator.fatalities):
                raise ValueError("anomalies are flagged on events or fatalities only")
        return threshold


class AlertRuleRead(BaseModel):
    id: int
    state: str
    name: str
    country: str | None
    region: str | None
    indicator: str
    condition: str
    threshold: float | None
    active: bool
    subscribed: bool


class AlertFiringRead(BaseModel):
    id: int
    rule: int
    rule_name: str
    key: str
    month: date
    value: float
    detail: dict[str, Any]
    fired_at: StoredMoment


class EvaluationRead(BaseModel):
    rules: int
    fired: int
