"""Rule-set files: one YAML file per rule (format in ``rules.md`` and ``catalogs/rules/README.md``).

A rule set is data: which markets it binds, from when to when, which earlier sets it replaces,
and a list of controls, each a condition and the status it gives. Adding next year's rule is a
new file, never new code.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from chipmix.errors import ArgumentError, InputError, closest, unknown_name_hint
from chipmix.inputs.yamlio import MAX_NUMBER, load_yaml
from chipmix.resources import rules_dir
from chipmix.rules.conditions import Condition, parse_condition

CONFIDENCE = ("codified", "official", "press")
#: The entry of a rule list that stands for every bundled rule set.
BUNDLED = "bundled"
MODES = ("raise", "relax")
TOP_KEYS = (
    "id",
    "title",
    "authority",
    "announced",
    "effective",
    "until",
    "replaces",
    "applies_to",
    "confidence",
    "sources",
    "notes",
    "params",
    "items",
    "controls",
    "domestic_share",
)
REQUIRED_KEYS = (
    "id",
    "title",
    "authority",
    "effective",
    "applies_to",
    "confidence",
    "sources",
)
CONTROL_KEYS = (
    "id", "status", "when", "mode", "fee", "cap", "issued", "buyers", "notes", "sources",
)
FLOOR_KEYS = ("id", "floor", "of", "basis", "buyers", "notes", "sources")
#: What a domestic-share floor measures (model.md ``share_of``) and in what (``share_basis``).
SHARE_OF = ("purchases", "fleet", "use")
SHARE_BASES = ("units", "compute", "spend")
PARAM_KEYS = ("default", "unit", "description", "confidence", "sources")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class Status(IntEnum):
    """What a rule says about buying a SKU, ordered from least to most restrictive.

    ``allowed`` < ``notify`` (allowed after a notification; the planner treats it as allowed)
    < ``license`` (a licence is needed: the scenario's licence policy decides) < ``denied``
    (presumption of denial).
    """

    allowed = 0
    notify = 1
    license = 2
    denied = 3

    def __str__(self) -> str:
        return self.name

    def __format__(self, spec: str) -> str:  # f"{status:>8}" formats the name, not the number
        return format(self.name, spec)

    @classmethod
    def parse(cls, value: Any) -> Status:
        """A Status from its name; ValueError naming the closest one otherwise."""
        if isinstance(value, Status):
            return value
        try:
            return cls[str(value).strip().lower()]
        except KeyError:
            raise ValueError(unknown_name_hint(str(value), cls.__members__)) from None


@dataclass(frozen=True)
class Param:
    """A named threshold a rule set declares, with its default; a user may override it."""

    name: str
    default: float
    unit: str | None = None
    description: str | None = None
    confidence: str | None = None
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default": self.default,
            "unit": self.unit,
            "description": self.description,
            "confidence": self.confidence,
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class Control:
    """One control of a rule set: when ``when`` holds, the SKU gets ``status``.

    ``mode="raise"`` (default) raises the status to at least ``status``; ``mode="relax"`` sets
    it (e.g. a case-by-case review replacing a presumption of denial), carrying the rule's own
    ``fee`` (price share, 0.25 = +25 %) and ``cap`` (units per quarter, None = no cap).
    ``buyers`` restricts the control to those buyer types (None = every buyer).
    ``issued=False`` (only with status ``license``) says licences are required *and not being
    issued*: no licence policy of the scenario can buy the SKU while it is in force.
    """

    id: str
    status: Status
    when: Condition
    mode: Literal["raise", "relax"] = "raise"
    fee: float | None = None
    cap: float | None = None
    buyers: tuple[str, ...] | None = None
    issued: bool = True
    notes: str | None = None
    sources: tuple[str, ...] = ()
    raw_when: Any = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.name,
            "mode": self.mode,
            "when": self.raw_when,
            "condition": self.when.text(),
            "fee": self.fee,
            "cap": self.cap,
            "issued": self.issued,
            "buyers": list(self.buyers) if self.buyers is not None else None,
            "notes": self.notes,
            "sources": list(self.sources),
        }


def floor_text(floor: float, of: str, basis: str) -> str:
    """``"≥ 50 % of fleet (units) domestic"``: a domestic-share floor in words."""
    return f"≥ {floor * 100:g} % of {of} ({basis}) domestic"


@dataclass(frozen=True)
class ShareFloor:
    """A rule's domestic-share floor.

    From the rule set's effective date, the buyer types in ``buyers`` (None = every buyer)
    must keep at least ``floor`` of what ``of`` measures (``purchases``: the period's buys;
    ``fleet``: every unit installed; ``use``: units serving workloads) domestic, counted in
    ``basis`` (``units``, ``compute`` or ``spend``).
    """

    id: str
    floor: float
    of: Literal["purchases", "fleet", "use"] = "fleet"
    basis: Literal["units", "compute", "spend"] = "units"
    buyers: tuple[str, ...] | None = None
    notes: str | None = None
    sources: tuple[str, ...] = ()

    def binds(self, buyer: str) -> bool:
        return self.buyers is None or buyer.casefold() in {b.casefold() for b in self.buyers}

    def text(self) -> str:
        """``"≥ 50 % of fleet (units) domestic"``."""
        return floor_text(self.floor, self.of, self.basis)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "floor": self.floor,
            "of": self.of,
            "basis": self.basis,
            "buyers": list(self.buyers) if self.buyers is not None else None,
            "notes": self.notes,
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class RuleSet:
    """One rule-set file, validated.

    ``items`` (optional) says which catalog rows the whole set governs, e.g. US export rules
    do not govern a Chinese buyer's purchase of Chinese-designed chips (``origin: "!= CN"``).
    ``announced`` (optional, on or before ``effective``) is the day the measure became public:
    a myopic replay learns the rule set then. ``domestic_share`` holds the set's
    domestic-share floors (:class:`ShareFloor`), an effect beside the SKU statuses.
    """

    id: str
    title: str
    authority: str
    effective: dt.date
    until: dt.date | None
    replaces: tuple[str, ...]
    applies_to: tuple[str, ...]
    confidence: str
    sources: tuple[str, ...]
    controls: tuple[Control, ...]
    params: Mapping[str, Param] = field(default_factory=dict)
    items: Condition | None = None
    notes: str | None = None
    path: Path | None = None
    raw_items: Any = field(default=None, compare=False, repr=False)
    announced: dt.date | None = None
    domestic_share: tuple[ShareFloor, ...] = ()

    @property
    def known_from(self) -> dt.date:
        """The day the rule set became public: ``announced``, else ``effective``."""
        return self.announced or self.effective

    def binds(self, home: str) -> bool:
        """True when the rule set binds buyers in market ``home``."""
        return home.upper() in self.applies_to

    def active_on(self, day: dt.date) -> bool:
        """Effective on ``day`` and not yet ended (replacement is judged by the timeline)."""
        return self.effective <= day and (self.until is None or day < self.until)

    def param_defaults(self) -> dict[str, float]:
        return {name: p.default for name, p in self.params.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "authority": self.authority,
            "announced": self.announced.isoformat() if self.announced else None,
            "effective": self.effective.isoformat(),
            "until": self.until.isoformat() if self.until else None,
            "replaces": list(self.replaces),
            "applies_to": list(self.applies_to),
            "confidence": self.confidence,
            "sources": list(self.sources),
            "notes": self.notes,
            "params": [p.to_dict() for p in self.params.values()],
            "items": self.raw_items,
            "items_condition": self.items.text() if self.items else None,
            "controls": [c.to_dict() for c in self.controls],
            "domestic_share": [f.to_dict() for f in self.domestic_share],
            "path": str(self.path) if self.path else None,
        }


# ----------------------------------------------------------------------------- loading


class _Reader:
    """Validation helpers that know the file for error messages."""

    def __init__(self, file: str | Path | None) -> None:
        self.file = file

    def error(self, location: str | None, **kwargs: Any) -> InputError:
        return InputError(file=self.file, location=location, **kwargs)

    def check_keys(self, data: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
        allowed = tuple(allowed)
        for key in data:
            if str(key) not in allowed:
                loc = f"{where}.{key}" if where else str(key)
                best = closest(str(key), allowed)
                raise self.error(
                    loc, message="unknown key",
                    hint=f"did you mean '{best}'?" if best else "known: " + ", ".join(allowed),
                )

    def text(self, value: Any, where: str, what: str = "a non-empty text") -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(where, value=value, expected=what)
        return value.strip()

    def texts(self, value: Any, where: str, what: str = "a list of texts") -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.error(where, value=value, expected=what)
        return tuple(self.text(v, f"{where}[{i}]", what) for i, v in enumerate(value))

    def date(self, value: Any, where: str) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.error(where, value=value, expected="a date YYYY-MM-DD")

    def number(self, value: Any, where: str, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(where, value=value, expected=what)
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:  # nan, .inf, 1e400
            raise self.error(where, value=value,
                             expected=f"{what}, finite and of magnitude <= {MAX_NUMBER:g}")
        return float(value)


def parse_ruleset(data: Any, *, file: str | Path | None = None) -> RuleSet:
    """Validate a rule set read from YAML (a mapping); InputError names the file and key path."""
    r = _Reader(file)
    if not isinstance(data, Mapping):
        raise r.error(
            None,
            value=data,
            expected="a rule set: a mapping with id, title, "
            "authority, effective, applies_to, confidence, sources, controls",
        )
    r.check_keys(data, TOP_KEYS, "")
    for key in REQUIRED_KEYS:
        if key not in data:
            raise r.error(key, message="missing key", expected=_REQUIRED_HELP[key])
    rid = r.text(data["id"], "id")
    if not _ID.match(rid):
        raise r.error("id", value=rid, expected="a slug like us-2023-10 (letters, digits, . _ -)")
    title = r.text(data["title"], "title")
    authority = r.text(data["authority"], "authority", "who imposes it, e.g. US or CN").upper()
    effective, announced, until = _parse_dates(r, data)
    replaces = r.texts(data.get("replaces") or [], "replaces", "a list of rule-set ids")
    if rid in replaces:
        raise r.error("replaces", value=rid, expected="ids of other rule sets")
    applies_to = _parse_markets(r, data["applies_to"])
    confidence = r.text(data["confidence"], "confidence", " | ".join(CONFIDENCE)).lower()
    if confidence not in CONFIDENCE:
        raise r.error(
            "confidence",
            value=confidence,
            expected=" | ".join(CONFIDENCE),
            hint=unknown_name_hint(confidence, CONFIDENCE),
        )
    sources = r.texts(data["sources"], "sources", "a list of source URLs or citations")
    if not sources:
        raise r.error("sources", value=[], expected="at least one source")
    notes = None if data.get("notes") is None else r.text(data["notes"], "notes")
    params = _parse_params(r, data.get("params"))
    items_raw = data.get("items")
    items = (
        None
        if items_raw is None
        else parse_condition(items_raw, path="items", file=file, params=params)
    )
    controls = _parse_controls(r, data, params)
    floors = _parse_floors(r, data.get("domestic_share"))
    return RuleSet(
        id=rid,
        title=title,
        authority=authority,
        effective=effective,
        until=until,
        replaces=replaces,
        applies_to=applies_to,
        confidence=confidence,
        sources=sources,
        controls=controls,
        params=params,
        items=items,
        notes=notes,
        path=Path(file) if file is not None else None,
        raw_items=items_raw,
        announced=announced,
        domestic_share=floors,
    )


def _parse_dates(r: _Reader, data: Mapping[str, Any]) -> tuple[dt.date, dt.date | None,
                                                                dt.date | None]:
    """``effective``, ``announced`` (on or before it) and ``until`` (after it)."""
    effective = r.date(data["effective"], "effective")
    announced = None if data.get("announced") is None else r.date(data["announced"], "announced")
    if announced is not None and announced > effective:
        raise r.error(
            "announced",
            value=announced.isoformat(),
            expected=f"a date on or before effective {effective.isoformat()} (the day the "
            "measure became public)",
        )
    until = None if data.get("until") is None else r.date(data["until"], "until")
    if until is not None and until <= effective:
        raise r.error(
            "until",
            value=until.isoformat(),
            expected=f"a date after effective {effective.isoformat()}",
        )
    return effective, announced, until


def _parse_markets(r: _Reader, raw: Any) -> tuple[str, ...]:
    """``applies_to``: one or more ISO 3166 alpha-2 codes, upper-cased."""
    applies_to = tuple(
        c.upper()
        for c in r.texts(raw, "applies_to", "a list of ISO country codes, e.g. [CN, MO]")
    )
    for i, code in enumerate(applies_to):
        if not _COUNTRY.match(code):
            raise r.error(
                f"applies_to[{i}]", value=code, expected="an ISO 3166 alpha-2 code like CN"
            )
    if not applies_to:
        raise r.error("applies_to", value=[], expected="at least one market, e.g. [CN]")
    return applies_to


def _parse_controls(r: _Reader, data: Mapping[str, Any], params: Any) -> tuple[Control, ...]:
    """``controls`` (may be empty when the rule set has ``domestic_share`` floors); unique ids."""
    if "controls" not in data and "domestic_share" not in data:
        raise r.error("controls", message="missing key", expected=_REQUIRED_HELP["controls"])
    controls_raw = data.get("controls")
    if controls_raw is None:
        controls_raw = []
    if not isinstance(controls_raw, list):
        raise r.error("controls", value=controls_raw, expected="a list of controls (may be [])")
    controls = tuple(
        _parse_control(r, c, f"controls[{i}]", params) for i, c in enumerate(controls_raw)
    )
    seen: dict[str, int] = {}
    for i, c in enumerate(controls):
        if c.id in seen:
            raise r.error(
                f"controls[{i}].id",
                value=c.id,
                expected=f"a unique control id (controls[{seen[c.id]}] has it)",
            )
        seen[c.id] = i
    return controls


_REQUIRED_HELP = {
    "id": "a slug like us-2023-10",
    "title": "a title",
    "authority": "who imposes it, e.g. US or CN",
    "effective": "a date YYYY-MM-DD",
    "applies_to": "a list of markets (scenario home), e.g. [CN, MO]",
    "confidence": " | ".join(CONFIDENCE),
    "sources": "a list of source URLs or citations",
    "controls": "a list of controls (may be [] or left out when the set has domestic_share:)",
}

FLOOR_HELP = (
    "a list of floors like {id: public hubs, floor: 0.5, of: fleet, basis: units, "
    "buyers: [state_funded]}"
)


def _parse_floors(r: _Reader, data: Any) -> tuple[ShareFloor, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        raise r.error("domestic_share", value=data, expected=FLOOR_HELP)
    floors: list[ShareFloor] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(data):
        where = f"domestic_share[{i}]"
        if not isinstance(item, Mapping):
            raise r.error(where, value=item, expected=FLOOR_HELP)
        r.check_keys(item, FLOOR_KEYS, where)
        for key in ("id", "floor"):
            if key not in item:
                raise r.error(f"{where}.{key}", message="missing key",
                              expected={"id": "a floor id", "floor": "a share in (0, 1]"}[key])
        raw_id = item["id"]
        fid = r.text(str(raw_id) if isinstance(raw_id, (str, int, float)) else raw_id,
                     f"{where}.id")
        if fid in seen:
            raise r.error(f"{where}.id", value=fid,
                          expected=f"a unique floor id (domestic_share[{seen[fid]}] has it)")
        seen[fid] = i
        floor = r.number(item["floor"], f"{where}.floor", "a share in (0, 1] (0.5 = 50 %)")
        if not 0 < floor <= 1:
            raise r.error(f"{where}.floor", value=item["floor"],
                          expected="a share in (0, 1] (0.5 = 50 %)")
        choices = {"of": (SHARE_OF, "fleet"), "basis": (SHARE_BASES, "units")}
        picked: dict[str, str] = {}
        for key, (allowed, default) in choices.items():
            raw = item.get(key, default)
            text = str(raw).strip().lower() if isinstance(raw, str) else raw
            if text not in allowed:
                raise r.error(f"{where}.{key}", value=raw, expected=" | ".join(allowed),
                              hint=unknown_name_hint(str(raw), allowed))
            picked[key] = text
        if picked["basis"] == "spend" and picked["of"] != "purchases":
            raise r.error(f"{where}.basis", value="spend",
                          expected="units or compute (a spend basis measures purchases only: "
                          "set of: purchases)")
        buyers = None
        if item.get("buyers") is not None:
            buyers = r.texts(item["buyers"], f"{where}.buyers", "a list of buyer types, e.g. [soe]")
        notes = None if item.get("notes") is None else r.text(item["notes"], f"{where}.notes")
        floors.append(ShareFloor(
            id=fid, floor=floor, of=picked["of"], basis=picked["basis"],  # type: ignore[arg-type]
            buyers=buyers, notes=notes,
            sources=r.texts(item.get("sources") or [], f"{where}.sources"),
        ))
    return tuple(floors)


def _parse_params(r: _Reader, data: Any) -> dict[str, Param]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise r.error(
            "params", value=data, expected="a mapping name: default or name: {default: ...}"
        )
    params: dict[str, Param] = {}
    for name, spec in data.items():
        where = f"params.{name}"
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise r.error(where, value=name, expected="a parameter name (letters, digits, _)")
        if isinstance(spec, Mapping):
            r.check_keys(spec, PARAM_KEYS, where)
            if "default" not in spec:
                raise r.error(f"{where}.default", message="missing key", expected="a number")
            conf = spec.get("confidence")
            if conf is not None and conf not in CONFIDENCE:
                raise r.error(f"{where}.confidence", value=conf, expected=" | ".join(CONFIDENCE))
            params[name] = Param(
                name=name,
                default=r.number(spec["default"], f"{where}.default", "a number"),
                unit=None if spec.get("unit") is None else str(spec["unit"]),
                description=None if spec.get("description") is None else str(spec["description"]),
                confidence=conf,
                sources=r.texts(spec.get("sources") or [], f"{where}.sources"),
            )
        else:
            params[name] = Param(name=name, default=r.number(spec, where, "a number"))
    return params


def _parse_control(r: _Reader, data: Any, where: str, params: Mapping[str, Param]) -> Control:
    if not isinstance(data, Mapping):
        raise r.error(where, value=data, expected="a control: {id, status, when}")
    r.check_keys(data, CONTROL_KEYS, where)
    for key in ("id", "status", "when"):
        if key not in data:
            raise r.error(
                f"{where}.{key}",
                message="missing key",
                expected={
                    "id": "a control id",
                    "status": "allowed | notify | license | denied",
                    "when": "a condition",
                }[key],
            )
    raw_id = data["id"]
    cid = r.text(str(raw_id) if isinstance(raw_id, (str, int, float)) else raw_id, f"{where}.id")
    try:
        status = Status.parse(data["status"])
    except ValueError as exc:
        raise r.error(
            f"{where}.status",
            value=data["status"],
            expected="allowed | notify | license | denied",
            hint=str(exc),
        ) from None
    mode = str(data.get("mode") or "raise").strip().lower()
    if mode not in MODES:
        raise r.error(
            f"{where}.mode",
            value=data.get("mode"),
            expected="raise | relax",
            hint=unknown_name_hint(mode, MODES),
        )
    when = parse_condition(data["when"], path=f"{where}.when", file=r.file, params=params)
    fee = cap = None
    if data.get("fee") is not None:
        fee = r.number(data["fee"], f"{where}.fee", "a price share >= 0 (0.25 = +25 %)")
        if fee < 0:
            raise r.error(f"{where}.fee", value=fee, expected="a price share >= 0 (0.25 = +25 %)")
    if data.get("cap") is not None:
        cap = r.number(data["cap"], f"{where}.cap", "units per quarter > 0")
        if cap <= 0:
            raise r.error(f"{where}.cap", value=cap, expected="units per quarter > 0")
    buyers = None
    if data.get("buyers") is not None:
        buyers = r.texts(data["buyers"], f"{where}.buyers", "a list of buyer types, e.g. [soe]")
    issued = True
    if data.get("issued") is not None:
        issued = data["issued"]
        if not isinstance(issued, bool):
            raise r.error(f"{where}.issued", value=issued,
                          expected="true or false (false: licences required and not being issued)")
        if not issued and status is not Status.license:
            raise r.error(f"{where}.issued", value=issued,
                          expected=f"issued: false only with status license (status is {status})")
    notes = None if data.get("notes") is None else r.text(data["notes"], f"{where}.notes")
    sources = r.texts(data.get("sources") or [], f"{where}.sources")
    return Control(
        id=cid,
        status=status,
        when=when,
        mode=mode,  # type: ignore[arg-type]
        fee=fee,
        cap=cap,
        buyers=buyers,
        issued=issued,
        notes=notes,
        sources=sources,
        raw_when=data["when"],
    )


@lru_cache(maxsize=256)
def _load_cached(path: str, mtime_ns: int, size: int) -> RuleSet:
    # the bundled files parse with libyaml (tests/test_yamlio.py: the same data)
    bundled = Path(path).parent == rules_dir()
    try:
        data = load_yaml(Path(path), libyaml=bundled)
    except ValueError as exc:  # PyYAML's date constructor on e.g. 2027-13-01
        raise InputError(
            f"invalid YAML value: {exc}", file=path, expected="dates as YYYY-MM-DD"
        ) from None
    return parse_ruleset(data, file=path)


def load_ruleset(path: str | Path) -> RuleSet:
    """Load and validate one rule-set YAML file."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise InputError("no such rule-set file", file=p) from None
    if not p.is_file():
        raise InputError("not a file", file=p, expected="a rule-set .yaml file")
    return _load_cached(str(p), st.st_mtime_ns, st.st_size)


def bundled_rulesets() -> dict[str, Path]:
    """The bundled rule sets (``catalogs/rules/*.yaml``) by id (= file name), in date order."""
    folder = rules_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def _is_path(text: str, base_dir: Path | None) -> bool:
    if text.endswith((".yaml", ".yml")) or "/" in text or os.sep in text:
        return True
    return (base_dir / text if base_dir else Path(text)).exists()


def _folder_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def _entries(ids_or_paths: Any) -> list[str | Path | RuleSet]:
    """The entries of a list of rule sets; ArgumentError for anything else."""
    if not isinstance(ids_or_paths, Iterable) or isinstance(ids_or_paths, bytes):
        raise ArgumentError("chipmix.rules.load_rulesets", "rules", ids_or_paths,
                            "rule-set ids, paths or RuleSets (a list)")
    entries = list(ids_or_paths)
    for entry in entries:
        if not isinstance(entry, (str, Path, RuleSet)):
            raise ArgumentError("chipmix.rules.load_rulesets", "rules", entry,
                                "a rule-set id, a path or a RuleSet")
    return entries


def load_rulesets(
    ids_or_paths: Iterable[str | Path | RuleSet] | str | Path | None = None,
    base_dir: str | Path | None = None,
) -> list[RuleSet]:
    """Load rule sets by bundled id, file path or folder path (every YAML file in it).

    ``None`` loads every bundled rule set, and so does the entry ``"bundled"`` in a list (to
    add one's own files to them: ``["bundled", "my-rules/"]``). Paths resolve against
    ``base_dir``. Ids must be unique across everything loaded; ``replaces`` must name a loaded
    or bundled rule set.

    Raises InputError for an unknown id, a missing or bad file; ArgumentError (a
    ``TypeError``) when an entry is not an id, a path or a RuleSet.
    """
    bundled = bundled_rulesets()
    if ids_or_paths is None:
        entries: list[str | Path | RuleSet] = list(bundled.values())
    elif isinstance(ids_or_paths, (str, Path, RuleSet)):
        entries = [ids_or_paths]
    else:
        entries = _entries(ids_or_paths)
    base = Path(base_dir) if base_dir is not None else None
    loaded: list[RuleSet] = []
    for entry in entries:
        if isinstance(entry, RuleSet):
            loaded.append(entry)
            continue
        if entry == BUNDLED:
            loaded.extend(load_ruleset(p) for p in bundled.values())
            continue
        if isinstance(entry, str) and not _is_path(entry, base):
            if entry not in bundled:
                raise InputError(
                    message="unknown rule set",
                    value=entry,
                    expected="a bundled rule-set id, 'bundled' or a path to a .yaml file",
                    hint=unknown_name_hint(entry, [*bundled, BUNDLED]),
                )
            loaded.append(load_ruleset(bundled[entry]))
            continue
        path = Path(entry)
        if base is not None and not path.is_absolute():
            path = base / path
        if path.is_dir():
            files = _folder_files(path)
            if not files:
                raise InputError("no rule-set files (*.yaml) in folder", file=path)
            loaded.extend(load_ruleset(f) for f in files)
        else:
            loaded.append(load_ruleset(path))
    by_id: dict[str, RuleSet] = {}
    for rs in loaded:
        if rs.id in by_id:
            first = by_id[rs.id]
            if first.path is not None and first.path == rs.path:
                continue  # the same file named twice
            raise InputError(
                message=f"rule set id '{rs.id}' is defined twice",
                file=rs.path,
                location="id",
                hint=f"also in {first.path or 'another rule set'}",
            )
        by_id[rs.id] = rs
    known = set(by_id) | set(bundled)
    for rs in by_id.values():
        for i, rid in enumerate(rs.replaces):
            if rid not in known:
                raise InputError(
                    message="replaces an unknown rule set",
                    file=rs.path,
                    location=f"replaces[{i}]",
                    value=rid,
                    hint=unknown_name_hint(rid, known),
                )
    return list(by_id.values())
