"""Scenarios: the YAML format of formats.md as frozen pydantic models, normalised.

:func:`load_scenario` reads a scenario file, resolves ``extends:``, makes relative paths
absolute, validates every key and value, loads the scenario's catalogs and checks every SKU,
vendor and workload the scenario names. Every problem is an :class:`InputError` naming the
file and the key path, e.g.::

    base.yaml: workloads[1].demand.2026Q1: after the horizon end; got '2026Q1'; expected ...

Key paths count list items from 0 (``workloads[0]`` is the first workload).

Normalisation
-------------
- periods become :class:`~chipmix.periods.Period`; the horizon decides whether keys must be
  quarters (``2024Q1``) or months (``2024-01``);
- a step map (``{2023Q4: 40, 2024Q3: 90}``) becomes ``dict[Period, float]``; a scalar becomes
  ``{horizon start: value}``;
- ``licenses`` becomes a :class:`LicensePolicy`; ``porting`` a ``{vendor: {workload: cost}}``
  (a scalar applies to every workload);
- ``catalogs`` keeps bundled names and turns paths into absolute paths (relative paths
  resolve against the folder of the file that names them); likewise ``rules`` entries that
  are paths (``*.yaml``, ``*.yml`` or containing ``/``).

``extends``
-----------
``extends: base.yaml`` (relative to the file) loads the base first and lays this file over
it: mappings merge key by key (this file wins), lists and scalars replace, a step map (a
mapping keyed by periods) replaces the base's step map as a whole, and ``key: null`` removes
the base's key (back to the default). Cycles are errors naming the chain.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import (
    Annotated,
    Any,
    ClassVar,
    Literal,
    get_args,
    get_origin,
)

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

import chipmix.limits as limits
from chipmix.errors import ArgumentError, InputError, closest, unknown_name_hint
from chipmix.inputs.catalog import (
    Catalog,
    bundled_catalogs,
    bundled_names,
    load_catalogs,
    looks_like_path,
    override_value,
)
from chipmix.inputs.overrides import apply_sets
from chipmix.inputs.risks import Risks, check_risks
from chipmix.inputs.schema import Problem, StrictModel
from chipmix.inputs.schema import is_model as _is_model
from chipmix.inputs.schema import not_bool as _not_bool
from chipmix.inputs.schema import strip as _strip
from chipmix.inputs.solver import SolverOptions
from chipmix.inputs.uncertainty import Uncertainty, outcome_data
from chipmix.inputs.yamlio import load_yaml, number_text
from chipmix.io import input_exists, run_scope
from chipmix.periods import Period, parse_period, period_key, period_range
from chipmix.resources import rules_dir

#: Longest ``extends`` chain (this file and its bases).
MAX_EXTENDS = 32


# --------------------------------------------------------------------------------------------
# Value types. Validation context (``model_validate(..., context=...)``): ``kind`` and
# ``start`` / ``end`` of the horizon, ``file`` for error messages.


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context or {}


def _period(value: Any, info: ValidationInfo) -> Period:
    try:
        return parse_period(value, _context(info).get("kind"))
    except ValueError as exc:
        raise Problem(str(exc)) from None


def _period_in_horizon(value: Any, info: ValidationInfo) -> Period:
    period = _period(value, info)
    end = _context(info).get("end")
    if end is not None and period > end:
        start = _context(info)["start"]
        raise Problem(f"a period up to {end} (the horizon is {start}..{end})",
                      detail="after the horizon end")
    return period


def _period_within_horizon(value: Any, info: ValidationInfo) -> Period:
    """A period inside the horizon (both ends included)."""
    period = _period_in_horizon(value, info)
    start = _context(info).get("start")
    if start is not None and period < start:
        end = _context(info)["end"]
        raise Problem(f"a period from {start} to {end} (the horizon)",
                      detail="before the horizon start")
    return period


def _is_number(value: Any) -> bool:
    if isinstance(value, str):
        return number_text(value) is not None
    return isinstance(value, int | float) and not isinstance(value, bool)


def _step_map(value: Any, info: ValidationInfo) -> Any:
    """Normalise a step map.

    A scalar becomes ``{horizon start: value}``; a mapping may name each period once
    (``2024Q1`` and ``2024q1`` are one period spelt twice).
    """
    if isinstance(value, Mapping):
        spelt: dict[str, Any] = {}
        for key in value:
            canonical = period_key(key)
            if canonical is None:
                continue
            if canonical in spelt:
                raise Problem("each period once per mapping",
                              detail=f"{key!r} is the same period as {spelt[canonical]!r}")
            spelt[canonical] = key
        return value
    if not _is_number(value):
        raise Problem("a number or a mapping of periods to numbers ({2024Q1: 10, 2025Q1: 20})")
    start = _context(info).get("start")
    if start is None:
        raise Problem("a mapping of periods to numbers (a scalar needs the horizon start)")
    return {str(start): value}


def _country(value: Any) -> str:
    if not (isinstance(value, str) and len(value) == 2 and value.isascii()
            and value.isalpha() and value.isupper()):
        raise Problem("a two-letter upper-case country code (ISO 3166 alpha-2, e.g. CN)")
    return value


_PeriodOut = PlainSerializer(str, return_type=str)
PeriodKey = Annotated[Period, PlainValidator(_period), _PeriodOut]
DemandKey = Annotated[Period, PlainValidator(_period_in_horizon), _PeriodOut]
Amount = Annotated[float, BeforeValidator(_not_bool), Field(ge=0, allow_inf_nan=False)]
Share = Annotated[float, BeforeValidator(_not_bool), Field(ge=0, le=1, allow_inf_nan=False)]
#: A step function over periods: each value holds from its period until the next key.
StepMap = Annotated[dict[PeriodKey, Amount], BeforeValidator(_step_map)]
ShareMap = Annotated[dict[PeriodKey, Share], BeforeValidator(_step_map)]
DemandMap = Annotated[dict[DemandKey, Amount], BeforeValidator(_step_map)]
HorizonKey = Annotated[Period, PlainValidator(_period_within_horizon), _PeriodOut]
#: A step map whose keys must lie inside the horizon (vendor pools).
HorizonStepMap = Annotated[dict[HorizonKey, Amount], BeforeValidator(_step_map)]
Name = Annotated[str, Field(min_length=1)]


# --------------------------------------------------------------------------------------------
# The models


class Horizon(StrictModel):
    """The planning horizon: consecutive quarters or months, both ends included."""

    start: PeriodKey = Field(description="first period (2024Q1 or 2024-01)")
    end: PeriodKey = Field(description="last period, same kind as start")

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: Period, info: ValidationInfo) -> Period:
        start = info.data.get("start")
        if start is not None and end.kind != start.kind:
            raise Problem(f"a {'quarter' if start.kind == 'Q' else 'month'} like the start "
                          f"({start}): quarters and months cannot mix")
        if start is not None and end < start:
            raise Problem(f"a period at or after the start {start}")
        return end


class Workload(StrictModel):
    """A named demand in one metric."""

    name: Name = Field(description="workload name, unique in the scenario")
    kind: Literal["training", "inference"] = Field(
        description="decides which catalog efficiency applies")
    metric: Literal["bf16_pflops", "fp8_pflops", "int8_pops", "memory_bw_tbps", "memory_tb"] = (
        Field(description="unit of demand and of each SKU's capability"))
    demand: DemandMap = Field(
        description="step function of demand in the metric's unit; 0 before the first key")
    min_memory_gb: Amount | None = Field(None, description="eligibility: memory per card [GB]")
    min_interconnect_gbps: Amount | None = Field(
        None, description="eligibility: chip-to-chip bandwidth [GB/s]")
    shortfall_penalty: Amount | None = Field(
        None, description="cost per metric unit short per period; None = hard demand")
    exclude: list[str] = Field(default_factory=list,
                               description="vendors or SKU ids that may not serve this workload")


class LicenseTerms(StrictModel):
    """How a licence for one SKU works: allowed or denied, fee and quantity cap."""

    allow: bool = Field(True, description="licence granted")
    fee: Amount = Field(0.0, description="surcharge as a fraction of the price (0.25 = 25 %)")
    cap: Amount | None = Field(None, description="units the licence allows per quarter (/3 for months); None = "
                                                 "no cap")

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in ("deny", "allow"):
                raise Problem("deny, allow or a mapping {fee, cap}",
                              hint=unknown_name_hint(value, ["deny", "allow"]))
            return {"allow": value == "allow"}
        return value


class LicensePolicy(StrictModel):
    """What happens to a SKU whose export needs a licence."""

    default: Literal["deny", "allow"] = Field("deny", description="for SKUs not listed")
    per_sku: dict[str, LicenseTerms] = Field(default_factory=dict,
                                             description="terms per SKU id")
    _inline: ClassVar[frozenset[str]] = frozenset({"per_sku"})

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in ("deny", "allow"):
                raise Problem("deny, allow or a mapping {default: deny, <sku>: {fee, cap}}",
                              hint=unknown_name_hint(value, ["deny", "allow"]))
            return {"default": value}
        if isinstance(value, Mapping):
            per_sku = {k: v for k, v in value.items() if k != "default"}
            return {"default": value.get("default", "deny"), "per_sku": per_sku}
        return value

    @model_serializer
    def _to_yaml(self) -> dict[str, Any]:
        return {"default": self.default,
                **{sku: terms.model_dump() for sku, terms in self.per_sku.items()}}

    def terms_for(self, sku: str) -> LicenseTerms:
        """The terms for ``sku`` (the default when not listed)."""
        return self.per_sku.get(sku, LicenseTerms(allow=self.default == "allow"))


class Performance(StrictModel):
    """A measured capability of one SKU for one workload (wins over the derived figure)."""

    sku: str = Field(description="SKU id")
    workload: str = Field(description="workload name")
    value: Amount = Field(description="capability per unit, in the workload's metric")


class Policy(StrictModel):
    """The buyer's policy constraints (all optional)."""

    domestic_share: ShareMap = Field(default_factory=dict,
                                     description="minimum domestic share per period [0..1]")
    share_basis: Literal["compute", "units", "spend"] = Field(
        "compute", description="what the shares are measured in")
    share_of: Literal["use", "fleet", "purchases"] = Field(
        "use", description="what the shares measure: units serving demand, every unit "
                           "installed (idle ones too), or the period's buys; the spend basis "
                           "always measures purchases")
    vendor_cap: Share | None = Field(None, description="maximum share of any one vendor [0..1]")
    budget: StepMap = Field(default_factory=dict, description="capex cap per period")
    power_mw: StepMap = Field(default_factory=dict, description="power cap [MW]")
    pue: Annotated[float, BeforeValidator(_not_bool), Field(ge=1, allow_inf_nan=False)] = Field(
        1.0, description="power usage effectiveness (facility W per IT W)")
    energy_price: StepMap = Field(default_factory=dict, description="energy price per kWh")

    @field_validator("share_of")
    @classmethod
    def _share_of_fits_the_basis(cls, share_of: str, info: ValidationInfo) -> str:
        if share_of == "fleet" and info.data.get("share_basis") == "spend":
            raise Problem("use or purchases with share_basis spend (spend is money paid for "
                          "purchases; an installed fleet has no spend), or a compute or units "
                          "basis", detail="the spend basis cannot measure the fleet")
        return share_of


def _currency_code(value: Any) -> str:
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()
            and value.isupper()):
        raise Problem("a three-letter upper-case currency code (ISO 4217, e.g. CNY)")
    return value


class CurrencySpec(StrictModel):
    """The currency of the scenario's own money.

    ``prices``, ``policy.budget``, ``policy.energy_price``, the workloads'
    ``shortfall_penalty``, ``porting`` and ``risks.shortfall_penalty``; reports show money
    in it. Catalogs stay in USD (their ``price_usd`` and sources), and so do the plan JSON
    and the data exports.
    """

    code: Annotated[str, BeforeValidator(_currency_code)] = Field(
        "USD", description="ISO 4217 code, e.g. CNY")
    per_usd: Annotated[float, BeforeValidator(_not_bool), Field(gt=0, allow_inf_nan=False)] = (
        Field(1.0, description="units of the currency per USD (7.2: CNY 7.2 = USD 1)"))

    @model_validator(mode="after")
    def _usd_is_one(self) -> CurrencySpec:
        if self.code == "USD" and self.per_usd != 1.0:
            raise Problem("per_usd 1 for USD (or another code)",
                          detail="USD is worth 1 USD")
        return self


def _catalog_entry(entry: str) -> str:
    if looks_like_path(entry):
        if not input_exists(entry):  # what else is wrong with it, the reader says
            raise Problem("an existing .csv or .xlsx file", detail="file not found")
    elif entry not in bundled_names():
        raise Problem("a bundled catalog name or a path to a .csv/.xlsx file",
                      detail="unknown catalog", hint=unknown_name_hint(entry, bundled_names()))
    return entry


def _rules_entry(entry: str) -> str:
    if _is_rules_path(entry) and not Path(entry).exists():
        raise Problem("an existing rule-set YAML file or folder", detail="not found")
    return entry


CatalogEntry = Annotated[str, AfterValidator(_catalog_entry)]
RulesEntry = Annotated[str, AfterValidator(_rules_entry)]


def _default_catalogs() -> list[str]:
    return list(bundled_catalogs())


class Scenario(StrictModel):
    """A whole scenario, normalised (see the module docstring).

    Build one with :func:`load_scenario` or :meth:`from_dict`; both validate everything,
    including the SKUs, vendors and workloads the scenario names.
    """

    name: Name = Field(description="scenario name")
    description: str = Field("", description="free text")
    horizon: Horizon
    home: Annotated[str, BeforeValidator(_country)] = Field(
        "CN", description="the buyer's market (ISO 3166 alpha-2): decides what is domestic")
    buyer: Literal["private", "state_funded", "soe"] = Field("private", description="buyer type")
    discount_rate: Amount = Field(0.0, description="per year (0.08 = 8 %)")
    catalogs: Annotated[list[CatalogEntry], Field(min_length=1)] = Field(
        default_factory=_default_catalogs, description="bundled catalog names or absolute paths")
    rules: list[RulesEntry] | None = Field(
        None, description="rule-set ids or absolute paths; None = every bundled rule set")
    licenses: LicensePolicy = Field(default_factory=LicensePolicy)
    unknown_policy: Literal["strict", "lenient"] = Field(
        "strict", description="how a control on an empty catalog cell counts")
    workloads: Annotated[list[Workload], Field(min_length=1)]
    supply: dict[str, StepMap] = Field(
        default_factory=dict, description="cards per quarter per SKU (overrides the catalog)")
    prices: dict[str, StepMap] = Field(
        default_factory=dict, description="price per card per SKU [the scenario's currency]")
    currency: CurrencySpec = Field(
        default_factory=CurrencySpec,
        description="currency of the scenario's own money (prices, budget, energy price, "
                    "penalties, porting) and of its reports; catalogs stay USD")
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="catalog field values per SKU")
    price_decline_per_year: Annotated[
        float, BeforeValidator(_not_bool), Field(ge=0, lt=1, allow_inf_nan=False)
    ] = Field(0.0, description="yearly decline of catalog prices (0.10 = 10 %)")
    inventory: dict[str, Amount] = Field(default_factory=dict,
                                         description="cards owned at the start per SKU")
    retire: dict[str, PeriodKey] = Field(default_factory=dict,
                                         description="forced out of service from that period")
    lifetime: dict[str, Annotated[float, BeforeValidator(_not_bool),
                                  Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict,
        description="periods a unit stays in service, per SKU or 'default'; absent = beyond "
                    "the horizon")
    performance: list[Performance] = Field(default_factory=list)
    porting: dict[str, dict[str, Amount]] = Field(
        default_factory=dict, description="one-off cost per vendor and workload")
    ported: list[str] = Field(default_factory=list,
                              description="vendors whose stacks already run every workload")
    policy: Policy = Field(default_factory=Policy)
    pools: dict[str, HorizonStepMap] = Field(
        default_factory=dict,
        description="vendor-level volumes: units of all the vendor's SKUs this buyer can get "
                    "per period (a step map, or a scalar for every period)")
    solver: SolverOptions = Field(default_factory=SolverOptions)
    rule_params: dict[str, Amount] = Field(
        default_factory=dict, description="overrides of rule-set parameters")
    risks: Risks = Field(default_factory=Risks,
                         description="supply-shock distributions for `chipmix stress`")
    uncertainty: Uncertainty | None = Field(
        None, description="events not known yet, for `chipmix hedge` (docs/hedging.md)")

    _source: Path | None = PrivateAttr(None)
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _label: str | None = PrivateAttr(None)
    _catalog: Catalog | None = PrivateAttr(None)
    _in_usd: bool = PrivateAttr(False)
    _inputs: dict[str, bytes] = PrivateAttr(default_factory=dict)

    # -- validators --------------------------------------------------------------------------

    @field_validator("overrides")
    @classmethod
    def _check_overrides(cls, overrides: dict[str, dict[str, Any]],
                         info: ValidationInfo) -> dict[str, dict[str, Any]]:
        file = _context(info).get("file")
        return {
            sku: {name: override_value(name, value, file=file, where=f"overrides.{sku}.{name}")
                  for name, value in fields.items()}
            for sku, fields in overrides.items()
        }

    @field_validator("porting", mode="before")
    @classmethod
    def _expand_porting(cls, porting: Any, info: ValidationInfo) -> Any:
        """A scalar cost for a vendor applies to every workload."""
        if not isinstance(porting, Mapping):
            return porting
        names = [w.name for w in info.data.get("workloads", [])]
        return {
            vendor: {name: cost for name in names} if _is_number(cost) else cost
            for vendor, cost in porting.items()
        }

    # -- derived -----------------------------------------------------------------------------

    @property
    def periods(self) -> list[Period]:
        """Every period of the horizon, in order."""
        return period_range(self.horizon.start, self.horizon.end)

    @property
    def source(self) -> Path | None:
        """The scenario file (None when built from a dict)."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """The folder relative paths were resolved against."""
        return self._base_dir

    @property
    def workload_names(self) -> list[str]:
        """Workload names in file order."""
        return [w.name for w in self.workloads]

    def load_catalog(self) -> Catalog:
        """The scenario's catalogs merged, with its ``overrides`` applied (loaded once)."""
        if self._catalog is None:
            with run_scope() as files:
                catalog = load_catalogs(self.catalogs, base_dir=self._base_dir)
            self._inputs.update(files.contents)
            self._catalog = catalog.with_overrides(self.overrides, file=self._label)
        return self._catalog

    def in_usd(self) -> Scenario:
        """The scenario with its own money converted to USD (``self`` when it is in USD).

        Converts ``prices``, ``policy.budget``, ``policy.energy_price``, the workloads'
        ``shortfall_penalty``, ``porting`` and ``risks.shortfall_penalty`` by
        ``currency.per_usd``; the model and the checker work on the result. ``currency`` is
        kept (reports convert back for display), with ``per_usd`` unchanged.
        """
        rate = self.currency.per_usd
        if rate == 1.0 or self._in_usd:
            return self

        def steps(points: Mapping[Any, float]) -> dict[Any, float]:
            return {k: v / rate for k, v in points.items()}

        policy = self.policy.model_copy(update={"budget": steps(self.policy.budget),
                                                "energy_price": steps(self.policy.energy_price)})
        workloads = [w.model_copy(update={"shortfall_penalty": None if w.shortfall_penalty
                                          is None else w.shortfall_penalty / rate})
                     for w in self.workloads]
        risks = self.risks.model_copy(update={"shortfall_penalty": steps(
            self.risks.shortfall_penalty)})
        copy = self.model_copy(update={
            "prices": {sku: steps(points) for sku, points in self.prices.items()},
            "porting": {v: steps(costs) for v, costs in self.porting.items()},
            "policy": policy, "workloads": workloads, "risks": risks})
        copy._in_usd = True
        return copy

    @property
    def input_files(self) -> dict[str, bytes]:
        """Bytes of the files this scenario was read from.

        The bytes of the files this scenario was read from (its YAML and ``extends``
        chain, its catalogs), keyed by absolute and real path: a sweep ships them to its
        workers (``chipmix.io.using_files``) so every variant sees what was validated here.
        """
        self.load_catalog()
        return dict(self._inputs)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready) in the YAML format; ``Scenario.from_dict`` reads it back."""
        return self.model_dump(mode="json")

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Same as :func:`load_scenario`."""
        return load_scenario(path)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        base_dir: str | Path | None = None,
        source_name: str | None = None,
        check_catalogs: bool = True,
    ) -> Scenario:
        """Validate scenario data (the YAML format, as Python data).

        ``base_dir`` resolves relative paths and ``extends`` (default: the current folder);
        ``source_name`` labels error messages. With ``check_catalogs`` the catalogs are loaded
        and every SKU and vendor the scenario names must exist in them.

        Raises InputError for bad data (``data`` that is not a mapping included).
        """
        folder = Path(base_dir or Path.cwd()).resolve()
        merged = _with_base(data, folder, source_name, chain=())
        return _build(merged, folder, source_name, None, check_catalogs)


def load_scenario(
    path: str | Path, *, check_catalogs: bool = True, sets: Sequence[str] | None = None
) -> Scenario:
    """Read, merge (``extends``), validate and normalise a scenario YAML file.

    ``sets`` are command-line overrides ``key.path=value`` applied to the merged data before
    validation (see :mod:`chipmix.inputs.overrides`).

    Raises
    ------
    InputError
        Every problem with the file, its ``extends`` chain, its catalogs or a ``--set``
        override: file, line or key path, value and expectation (a cap of
        :mod:`chipmix.limits`, e.g. the horizon length, as a ``LimitError``).
    ArgumentError
        ``path`` is not a path or ``sets`` not a list of strings (also a ``TypeError``).
    """
    if not isinstance(path, (str, Path)) or isinstance(path, str) and not path.strip():
        raise ArgumentError("chipmix.load_scenario", "path", path, "a scenario YAML path")

    path = Path(path)
    with run_scope() as files:
        data = _read_file(path, chain=())
    if sets:
        data = apply_sets(data, sets, schema=Scenario)
    folder = Path(os.path.realpath(path)).parent  # never raises (a symlink loop was read above)
    scenario = _build(data, folder, str(path), path, check_catalogs)
    scenario._inputs.update(files.contents)
    return scenario


def _build(data: dict[str, Any], folder: Path, label: str | None, source: Path | None,
           check_catalogs: bool) -> Scenario:
    horizon = _validate_horizon(data, label)
    context = {"kind": horizon.start.kind, "start": horizon.start, "end": horizon.end,
               "file": label}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise as_input_error(exc, Scenario, file=label) from None
    scenario._source = source
    scenario._base_dir = folder
    scenario._label = label
    _check_names(scenario, label)
    _check_rule_ids(scenario, folder, label)
    if check_catalogs:
        _check_references(scenario, scenario.load_catalog(), label)
        _check_uncertainty(scenario, label)
    return scenario


def _validate_horizon(data: Mapping[str, Any], label: str | None) -> Horizon:
    if "horizon" not in data:
        for key in data:
            if str(key) not in Scenario.model_fields and closest(str(key), ["horizon"]):
                raise InputError("unknown key", file=label, location=str(key),
                                 hint="did you mean 'horizon'?")
        raise InputError("required key missing", file=label, location="horizon",
                         expected="{start: 2024Q1, end: 2025Q4}")
    try:
        horizon = Horizon.model_validate(data["horizon"])
    except ValidationError as exc:
        raise as_input_error(exc, Scenario, file=label, prefix=("horizon",)) from None

    count = horizon.end.ordinal - horizon.start.ordinal + 1
    limits.check("periods", count, what=f"{count:,} periods ({horizon.start}..{horizon.end})",
                 file=label, location="horizon")
    return horizon


# --------------------------------------------------------------------------------------------
# Files, extends and paths


def _read_file(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    resolved = Path(os.path.realpath(path))
    if resolved in chain:
        names = " -> ".join(str(p) for p in (*chain, resolved))
        raise InputError(f"extends cycle: {names}", file=chain[-1], location="extends")
    if len(chain) >= MAX_EXTENDS:  # each level recurses: stop long before Python's limit
        raise InputError(f"more than {MAX_EXTENDS} files in an extends chain", file=chain[-1],
                         location="extends", expected="a base and a few variants")
    data = load_yaml(path)
    return _with_base(data, resolved.parent, str(path), (*chain, resolved))


def _with_base(data: Any, folder: Path, label: str | None,
               chain: tuple[Path, ...]) -> dict[str, Any]:
    """``data`` with its paths made absolute and its ``extends`` base merged under it."""
    if not isinstance(data, Mapping):
        raise InputError("not a scenario", file=label, value=data,
                         expected="a mapping of scenario keys (name, horizon, workloads, ...)")
    data = _absolute_paths(dict(data), folder)
    assert isinstance(data, dict)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise InputError(file=label, location="extends", value=parent,
                         expected="a path to another scenario file")
    parent_path = folder / parent
    if not parent_path.is_file():
        raise InputError("file not found", file=label, location="extends", value=parent,
                         expected=f"a scenario file (looked at {parent_path})")
    base = _read_file(parent_path, chain)
    return deep_merge(base, data)


def _is_rules_path(entry: str) -> bool:
    return "/" in entry or "\\" in entry or entry.lower().endswith((".yaml", ".yml"))


def _absolute_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Resolve path entries of ``catalogs``, ``rules`` and outcomes' ``rules`` in ``folder``."""
    for key, is_path in (("catalogs", looks_like_path), ("rules", _is_rules_path)):
        entries = data.get(key)
        if isinstance(entries, list):
            data[key] = _resolved(entries, folder, is_path)
    block = data.get("uncertainty")
    if isinstance(block, Mapping) and isinstance(block.get("events"), list):
        events = []
        for event in block["events"]:
            if isinstance(event, Mapping) and isinstance(event.get("outcomes"), list):
                event = {**event, "outcomes": [
                    {**o, "rules": _resolved(o["rules"], folder, _is_rules_path)}
                    if isinstance(o, Mapping) and isinstance(o.get("rules"), list) else o
                    for o in event["outcomes"]]}
            events.append(event)
        data["uncertainty"] = {**block, "events": events}
    return data


def _resolved(entries: list[Any], folder: Path, is_path: Callable[[str], bool]) -> list[Any]:
    # abspath, not resolve(): a symlinked catalog keeps the name the user gave it, and a
    # symlink loop is reported by the reader instead of raising RuntimeError here
    return [os.path.abspath(folder / e) if isinstance(e, str) and is_path(e) else e
            for e in entries]


def _is_step_map(value: Any) -> bool:
    if not isinstance(value, Mapping) or not value:
        return False
    try:
        for key in value:
            parse_period(key)
    except ValueError:
        return False
    return True


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base`` the way ``extends`` merges (see module docstring)."""
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif (isinstance(value, Mapping) and isinstance(merged.get(key), Mapping)
              and not _is_step_map(value) and not _is_step_map(merged[key])):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# --------------------------------------------------------------------------------------------
# Cross-checks after validation


def _check_names(scenario: Scenario, label: str | None) -> None:
    """Workload names unique; performance and porting name existing workloads."""
    seen: set[str] = set()
    for i, workload in enumerate(scenario.workloads):
        if workload.name in seen:
            raise InputError("duplicate workload name", file=label,
                             location=f"workloads[{i}].name", value=workload.name,
                             expected="each workload name once")
        seen.add(workload.name)
    pairs: set[tuple[str, str]] = set()
    for i, entry in enumerate(scenario.performance):
        _require(entry.workload, seen, "workload", label, f"performance[{i}].workload")
        if (entry.sku, entry.workload) in pairs:
            raise InputError("duplicate entry", file=label, location=f"performance[{i}]",
                             value=f"{entry.sku} / {entry.workload}",
                             expected="one figure per SKU and workload")
        pairs.add((entry.sku, entry.workload))
    for vendor, costs in scenario.porting.items():
        for name in costs:
            _require(name, seen, "workload", label, f"porting.{vendor}.{name}")


def _check_rule_ids(scenario: Scenario, folder: Path, label: str | None) -> None:
    """Every ``rules`` entry that is not a path names a bundled rule set (or ``bundled``).

    The rule sets themselves are parsed when planning (the rules layer sits downstream).
    """
    known = _bundled_rule_ids()
    for i, entry in enumerate(scenario.rules or []):
        if _rule_entry_known(entry, folder, known):
            continue
        raise InputError("unknown rule set", file=label, location=f"rules[{i}]", value=entry,
                         expected="a bundled rule-set id, 'bundled' or a path to a .yaml file",
                         hint=unknown_name_hint(entry, [*known, "bundled"]))


def _bundled_rule_ids() -> list[str]:
    try:
        return sorted(p.stem for p in rules_dir().glob("*.yaml"))
    except FileNotFoundError:
        return []


def _rule_entry_known(entry: str, folder: Path, known: list[str]) -> bool:
    """Tell whether ``entry`` names a known rule set.

    A path (checked elsewhere), ``bundled``, a bundled id, or a file or folder next to the
    scenario named bare.
    """
    return (_is_rules_path(entry) or entry == "bundled" or entry in known
            or (folder / entry).exists())


def _check_references(scenario: Scenario, catalog: Catalog, label: str | None) -> None:
    """Every SKU and vendor the scenario names exists in its catalogs."""
    skus = catalog.ids
    for section in ("supply", "prices", "inventory", "retire"):
        for sku in getattr(scenario, section):
            _require(sku, skus, "SKU", label, f"{section}.{sku}")
    for sku in scenario.licenses.per_sku:
        _require(sku, [*skus, "default"], "SKU", label, f"licenses.{sku}")
    for sku in scenario.lifetime:
        _require(sku, [*skus, "default"], "SKU", label, f"lifetime.{sku}")
    for i, entry in enumerate(scenario.performance):
        _require(entry.sku, skus, "SKU", label, f"performance[{i}].sku")
    vendors = catalog.vendors
    for i, workload in enumerate(scenario.workloads):
        for j, name in enumerate(workload.exclude):
            _require(name, [*vendors, *skus], "vendor or SKU", label,
                     f"workloads[{i}].exclude[{j}]")
    for vendor in scenario.porting:
        _require(vendor, vendors, "vendor", label, f"porting.{vendor}")
    for vendor in scenario.pools:
        _require(vendor, vendors, "vendor", label, f"pools.{vendor}")
    for i, vendor in enumerate(scenario.ported):
        _require(vendor, vendors, "vendor", label, f"ported[{i}]")
    check_risks(scenario.risks, skus, scenario.workload_names, file=label)


def _check_uncertainty(scenario: Scenario, label: str | None) -> None:
    """Every outcome of the ``uncertainty:`` block derives a valid scenario.

    Its rule sets exist and its ``set`` overrides resolve (paths and values), each checked
    like the scenario itself with the outcome's key path in the message.
    """
    block = scenario.uncertainty
    if block is None:
        return
    base = scenario.to_dict()
    known = _bundled_rule_ids()
    for i, event in enumerate(block.events):
        for j, outcome in enumerate(event.outcomes):
            where = f"uncertainty.events[{i}].outcomes[{j}]"
            for k, entry in enumerate(outcome.rules):
                if _is_rules_path(entry) and not Path(entry).exists():
                    raise InputError("rule set not found", file=label,
                                     location=f"{where}.rules[{k}]", value=entry,
                                     expected="an existing rule-set YAML file or folder")
                if not _rule_entry_known(entry, scenario.base_dir, known):
                    raise InputError("unknown rule set", file=label,
                                     location=f"{where}.rules[{k}]", value=entry,
                                     expected="a bundled rule-set id, 'bundled' or a path to "
                                              "a .yaml file",
                                     hint=unknown_name_hint(entry, [*known, "bundled"]))
            head = f"{label}: {where}" if label else where
            data = outcome_data(base, [outcome], schema=Scenario, label=f"{head}.set")
            _build(data, scenario.base_dir, head, None, True)


def _require(name: str, known: list[str] | set[str], what: str, label: str | None,
             where: str) -> None:
    if name in known:
        return
    scope = "workloads" if what == "workload" else "catalogs"
    raise InputError(f"unknown {what}", file=label, location=where, value=name,
                     expected=f"a {what} of the scenario's {scope}",
                     hint=unknown_name_hint(name, known) if known else None)


# --------------------------------------------------------------------------------------------
# pydantic errors → InputError


def as_input_error(exc: ValidationError, root: type[BaseModel], *, file: str | Path | None = None,
                   prefix: tuple[str | int, ...] = ()) -> InputError:
    """The first error of ``exc`` as an InputError with a YAML key path.

    ``root`` is the model validated (its fields give key paths and did-you-mean hints);
    ``prefix`` is the path of that model inside the file when it is not the whole file.
    """
    errors = exc.errors(include_url=False)
    error = _most_useful(errors)
    loc = (*prefix, *error["loc"])
    path, _ = _walk(root, loc)
    parts = _describe(error, root, loc)
    if len(errors) > 1:
        more = f"{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''}"
        parts["hint"] = f"{parts['hint']}; {more}" if parts.get("hint") else more
    return InputError(file=file, location=path or None, **parts)


def _most_useful(errors: list[Any]) -> Any:
    """The error to report.

    A misspelt key (``workload:``) rather than the required key it leaves missing
    (``workloads``), else the first.
    """
    missing = [(tuple(e["loc"][:-1]), str(e["loc"][-1])) for e in errors if e["type"] == "missing"]
    for error in errors:
        if error["type"] == "extra_forbidden" and error["loc"]:
            parent = tuple(error["loc"][:-1])
            names = [name for where, name in missing if where == parent]
            if names and closest(str(error["loc"][-1]), names):
                return error
    return errors[0]


def _describe(error: Any, root: type[BaseModel], loc: tuple[Any, ...]) -> dict[str, Any]:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        return {"message": "required key missing"}
    if kind == "extra_forbidden":
        _, parent = _walk(root, loc[:-1])
        known = list(parent.model_fields) if _is_model(parent) else []
        if parent is root and root is Scenario:
            known.append("extends")
        best = closest(str(loc[-1]), known)
        return {"message": "unknown key", "hint": f"did you mean '{best}'?" if best else None}
    if kind == "value_error" and isinstance(ctx.get("error"), Problem):
        problem = ctx["error"]
        return {"message": problem.detail if problem.expected else None, "value": value,
                "expected": problem.expected or problem.detail, "hint": problem.hint}
    if kind == "literal_error":
        allowed = [a.strip("'") for a in str(ctx.get("expected", "")).replace(" or ", ", ")
                   .split(", ")]
        best = closest(str(value), allowed)
        return {"value": value, "expected": "one of " + ", ".join(allowed),
                "hint": f"did you mean '{best}'?" if best else None}
    return {"value": value, "expected": _expected(kind, ctx, error["msg"])}


_BOUNDS = {"greater_than_equal": ("ge", ">="), "greater_than": ("gt", ">"),
           "less_than_equal": ("le", "<="), "less_than": ("lt", "<")}
_EXPECTED = {
    "finite_number": "a finite number",
    "float_parsing": "a number", "float_type": "a number",
    "int_parsing": "a whole number", "int_type": "a whole number",
    "int_from_float": "a whole number",
    "dict_type": "a mapping (key: value)", "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list", "tuple_type": "a list",
    "string_type": "text", "bool_type": "true or false", "bool_parsing": "true or false",
}


def _expected(kind: str, ctx: dict[str, Any], message: str) -> str:
    if kind in _BOUNDS:
        key, op = _BOUNDS[kind]
        return f"a number {op} {ctx[key]:g}"
    if kind == "too_short":
        return f"at least {ctx.get('min_length', 1)} item(s)"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    return _EXPECTED.get(kind, message)


def _walk(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[str, Any]:
    """Key path text for a pydantic ``loc`` and the type found at its end."""
    text = ""
    tp: Any = root
    for part in loc:
        if part == "[key]":
            continue
        tp = _strip(tp)
        origin = get_origin(tp)
        if isinstance(part, int) and origin in (list, tuple):
            text += f"[{part}]"
            tp = get_args(tp)[0]
            continue
        if _is_model(tp) and part in tp._inline:
            tp = tp.model_fields[part].annotation
            continue
        text += f".{part}" if text else str(part)
        if origin is dict:
            tp = get_args(tp)[1]
        elif _is_model(tp) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
        else:
            tp = Any
    return text, _strip(tp)
