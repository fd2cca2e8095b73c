"""The producer registry: read an extract (CSV or JSON, see docs/registry-format.md), store it encrypted,
and write realistic sample extracts for demos and tests."""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import ijson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import DomainError
from app.pii import SsnVault
from app.rules.identity import normalize_email, normalize_gender, normalize_npn, normalize_ssn, normalize_state
from persistence import registry as store

CSV_COLUMNS = ("npn", "first_name", "middle_name", "last_name", "ssn", "gender", "email", "state",
               "license_number", "license_class", "residency", "lines_of_authority", "status", "issue_date",
               "effective_date", "expiration_date")
STATUSES = ("active", "inactive")
LOA_SEPARATOR = ";"
BATCH = 500


@dataclass
class RegistryLicense:
    state: str
    license_number: str
    license_class: str | None = None
    residency: str = "resident"
    lines_of_authority: list[str] = field(default_factory=list)
    status: str = "active"
    issue_date: date | None = None
    effective_date: date | None = None
    expiration_date: date | None = None


@dataclass
class RegistryEntry:
    """One producer of a registry extract with its licenses."""

    npn: str
    last_name: str
    first_name: str | None = None
    middle_name: str | None = None
    ssn: str | None = None
    gender: str | None = None
    email: str | None = None
    licenses: list[RegistryLicense] = field(default_factory=list)


@dataclass
class ImportSummary:
    """What an import stored, what it skipped, and what it changed in onboarded producers, by kind."""

    producers: int = 0
    licenses: int = 0
    errors: list[str] = field(default_factory=list)
    changes: Counter[str] = field(default_factory=Counter)


# ---- reading extracts ----------------------------------------------------------------------------

def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _date(value: Any, name: str) -> date | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise DomainError("INVALID_DATE", f"{name} {text!r} is not a date as YYYY-MM-DD.", name) from exc


def _loas(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(LOA_SEPARATOR)
    return [t for t in (str(i).strip() for i in items) if t]


def parse_license(raw: dict[str, Any]) -> RegistryLicense:
    number = _text(raw.get("license_number"))
    if number is None:
        raise DomainError("MISSING_LICENSE_NUMBER", "A license needs its license_number.", "license_number")
    residency = (_text(raw.get("residency")) or "resident").lower().replace("_", "-")
    if residency not in ("resident", "non-resident"):
        raise DomainError("INVALID_RESIDENCY", f"residency {residency!r} must be resident or non-resident.",
                          "residency")
    status = (_text(raw.get("status")) or "active").lower()
    if status not in STATUSES:
        raise DomainError("INVALID_LICENSE_STATUS", f"status {status!r} must be active or inactive.", "status")
    lic = RegistryLicense(state=normalize_state(_text(raw.get("state"))), license_number=number,
                          license_class=_text(raw.get("license_class")), residency=residency,
                          lines_of_authority=_loas(raw.get("lines_of_authority")), status=status,
                          issue_date=_date(raw.get("issue_date"), "issue_date"),
                          effective_date=_date(raw.get("effective_date"), "effective_date"),
                          expiration_date=_date(raw.get("expiration_date"), "expiration_date"))
    start = lic.effective_date or lic.issue_date
    if start and lic.expiration_date and lic.expiration_date <= start:
        raise DomainError("INVALID_DATES", "expiration_date must be after effective_date (or issue_date).",
                          "expiration_date")
    return lic


_PLAIN_EMAIL = re.compile(r"[a-z0-9]+(?:[._+-][a-z0-9]+)*@(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+([a-z]{2,24})")
_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test", "internal", "home", "lan"})


def registry_email(text: str) -> str:
    """The email of a registry record: a plain address as it is, lower-cased (most of an extract, and a full
    syntax check per row would be the import's largest cost), anything else through `normalize_email`."""
    lowered = text.strip().lower()
    plain = _PLAIN_EMAIL.fullmatch(lowered)
    if plain and len(lowered) <= 254 and len(lowered.split("@")[0]) <= 64 and plain.group(1) not in _SPECIAL_USE \
            and all(len(label) <= 63 for label in lowered.split("@")[1].split(".")):
        return lowered
    return normalize_email(text)


def parse_entry(raw: dict[str, Any]) -> RegistryEntry:
    """A registry producer from a JSON object or a CSV row (license columns ignored here)."""
    last_name = _text(raw.get("last_name"))
    if last_name is None:
        raise DomainError("MISSING_LAST_NAME", "A registry producer needs a last_name.", "last_name")
    ssn = _text(raw.get("ssn"))
    email = _text(raw.get("email"))
    return RegistryEntry(npn=normalize_npn(_text(raw.get("npn"))), last_name=last_name,
                         first_name=_text(raw.get("first_name")), middle_name=_text(raw.get("middle_name")),
                         ssn=normalize_ssn(ssn) if ssn else None, gender=normalize_gender(_text(raw.get("gender"))),
                         email=registry_email(email) if email else None)


def read_csv(path: Path, errors: list[str]) -> Iterator[RegistryEntry]:
    """Entries of a CSV extract, streamed: one row per license, producer columns repeated; the rows of one NPN
    follow each other and are merged (a row of an NPN seen earlier, after another one, is reported)."""
    seen: set[str] = set()
    current: RegistryEntry | None = None
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                npn = normalize_npn(_text(row.get("npn")))
                same = current is not None and npn == current.npn  # its producer columns were read already
                entry = current if same and current is not None else parse_entry(row)
                has_license = bool(_text(row.get("license_number")) or _text(row.get("state")))
                lic = parse_license(row) if has_license else None
            except DomainError as exc:
                errors.append(f"line {line}: {exc.message}")
                continue
            if current is None or entry.npn != current.npn:
                if entry.npn in seen:
                    errors.append(f"line {line}: the rows of the NPN ending {entry.npn[-4:]} are not together; "
                                  "keep every row of a producer next to the previous one.")
                    continue
                if current is not None:
                    yield current
                current = entry
                seen.add(entry.npn)
            if lic is not None:
                current.licenses.append(lic)
    if current is not None:
        yield current


def _json_items(handle: BinaryIO) -> Iterator[Any]:
    """The producers of a JSON extract, one object at a time (ijson: memory stays that of one producer whatever
    the file's size): the items of the top-level list, or of {"producers": [...]}."""
    head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")  # a UTF-8 byte order mark, then whitespace
    handle.seek(0)
    if head.startswith(b"{"):
        return ijson.items(handle, "producers.item", use_float=True)
    return ijson.items(handle, "item", use_float=True)


def read_json(path: Path, errors: list[str]) -> Iterator[RegistryEntry]:
    """Entries of a JSON extract, streamed: a list of producers (or {"producers": [...]}) with nested licenses."""
    with path.open("rb") as handle:
        items = _json_items(handle)
        index, end = -1, object()
        while True:
            try:
                item = next(items, end)
            except ijson.JSONError as exc:
                raise DomainError("INVALID_REGISTRY_FILE", f"{path.name}: not valid JSON after producer {index} "
                                  f"({exc}).", "file") from exc
            if item is end:
                return
            index += 1
            try:
                if not isinstance(item, dict):
                    raise DomainError("INVALID_REGISTRY_FILE", "a producer is a JSON object.", "file")
                entry = parse_entry(item)
                entry.licenses = [parse_license(lic) for lic in item.get("licenses") or []]
            except DomainError as exc:
                errors.append(f"producer {index}: {exc.message}")
                continue
            yield entry


def read_extract(path: Path, errors: list[str]) -> Iterator[RegistryEntry]:
    if path.suffix.lower() == ".json":
        return read_json(path, errors)
    if path.suffix.lower() == ".csv":
        return read_csv(path, errors)
    raise DomainError("UNSUPPORTED_FILE", f"{path.name}: a registry extract is a .csv or .json file.", "file")


# ---- storing -------------------------------------------------------------------------------------

def producer_row(entry: RegistryEntry, vault: SsnVault, stored_ssn_hash: str | None = None) -> dict[str, Any]:
    """The registry row of an entry; the SSN is encrypted only when it is not the one stored already
    (`stored_ssn_hash`): the upsert keeps the stored ciphertext of an unchanged SSN."""
    row: dict[str, Any] = {"npn": entry.npn, "first_name": entry.first_name, "middle_name": entry.middle_name,
                           "last_name": entry.last_name, "gender": entry.gender, "email": entry.email,
                           "ssn_ciphertext": None, "ssn_hash": None, "ssn_last4": None}
    if entry.ssn:
        lookup = vault.lookup_hash(entry.ssn)
        row.update(ssn_ciphertext=None if lookup == stored_ssn_hash else vault.encrypt(entry.ssn),
                   ssn_hash=lookup, ssn_last4=SsnVault.last4(entry.ssn))
    return row


async def store_entries(session: AsyncSession, tenant_id: str, entries: Iterable[RegistryEntry],
                        vault: SsnVault) -> ImportSummary:
    """Insert or refresh registry producers (by NPN) and replace their licenses, in batches."""
    summary = ImportSummary()
    batch: list[RegistryEntry] = []

    async def flush() -> None:
        ids, _ = await store.upsert_producers(session, tenant_id, [producer_row(e, vault) for e in batch])
        licenses: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in batch:
            for lic in entry.licenses:
                licenses[(lic.state, lic.license_number)] = {"registry_producer_id": ids[entry.npn], **vars(lic)}
        await store.replace_licenses(session, tenant_id, list(ids.values()), list(licenses.values()))
        summary.licenses += len(licenses)
        summary.producers += len(ids)
        batch.clear()

    for entry in entries:
        if any(e.npn == entry.npn for e in batch):
            await flush()
        batch.append(entry)
        if len(batch) >= BATCH:
            await flush()
    if batch:
        await flush()
    return summary


async def import_file(sessions: async_sessionmaker[AsyncSession], tenant_id: str, path: Path,
                      vault: SsnVault) -> ImportSummary:
    """Load a CSV or JSON extract into the tenant's registry and reconcile the producers onboarded from it
    (app.registry_sync), one transaction per batch; bad rows are reported."""
    from app.registry_sync import import_file as sync_file

    return await sync_file(sessions, tenant_id, path, vault)


# ---- sample extracts -----------------------------------------------------------------------------

FIRST_NAMES = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
               "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen",
               "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Ashley", "Wei", "Priya",
               "Ahmed", "Fatima", "Hiroshi", "Yuki", "Olga", "Ivan", "Chloe", "Mateo", "Sofia", "Kwame")
LAST_NAMES = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
              "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
              "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis",
              "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "O'Brien",
              "Van der Berg", "Okafor", "Patel", "Kim", "Chen", "Novak", "Dubois", "Rossi", "Silva", "Cohen")
CLASSES = ("Insurance Producer", "Agent", "Broker", "Adjuster", "Consultant")


def _ssn(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


def sample_entries(count: int, *, seed: int = 7, jurisdictions: dict[str, list[str]] | None = None,
                   first_npn: int = 10_000_000) -> list[RegistryEntry]:
    """`count` realistic registry producers with valid, unique SSNs, NPNs and license numbers (deterministic)."""
    rng = random.Random(seed)
    if jurisdictions is None:
        from app.tenant_config import default_tenant_config

        jurisdictions = {code: list(j.linesOfAuthority) for code, j in default_tenant_config().jurisdictions.items()}
    codes = sorted(jurisdictions)
    ssns: set[str] = set()
    numbers: set[tuple[str, str]] = set()
    entries: list[RegistryEntry] = []
    npn = first_npn
    for _ in range(count):
        npn += rng.randint(1, 9)
        ssn = _ssn(rng)
        while ssn in ssns:
            ssn = _ssn(rng)
        ssns.add(ssn)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        middle = rng.choice(FIRST_NAMES) if rng.random() < 0.3 else None
        entry = RegistryEntry(npn=str(npn), last_name=last, first_name=first, middle_name=middle, ssn=ssn,
                              gender=rng.choice(("MALE", "FEMALE", "FEMALE", "MALE", "NON_BINARY", None)),
                              email=f"{first}.{last}.{npn}@example.com".lower().replace(" ", "").replace("'", ""))
        states = rng.sample(codes, k=min(len(codes), rng.choice((1, 1, 2, 2, 3, 4))))
        for i, state in enumerate(states):
            number = f"{rng.randint(100000, 9999999)}"
            while (state, number) in numbers:
                number = f"{rng.randint(100000, 9999999)}"
            numbers.add((state, number))
            offered = jurisdictions[state]
            issued = date(2020, 1, 1) + timedelta(days=rng.randint(0, 6 * 365))
            entry.licenses.append(RegistryLicense(
                state=state, license_number=number, license_class=rng.choice(CLASSES),
                residency="resident" if i == 0 else "non-resident",
                lines_of_authority=sorted(rng.sample(offered, k=rng.randint(1, min(3, len(offered))))),
                status="inactive" if int(number) % 10 == 0 else "active",  # ~1 in 10, no draw: samples stay put
                issue_date=issued, effective_date=issued,
                expiration_date=issued + timedelta(days=rng.choice((730, 1095, 1460)))))
        entries.append(entry)
    return entries


def _json_entry(entry: RegistryEntry) -> dict[str, Any]:
    licenses = [{**vars(lic), "issue_date": _iso(lic.issue_date), "effective_date": _iso(lic.effective_date),
                 "expiration_date": _iso(lic.expiration_date)} for lic in entry.licenses]
    return {**{k: v for k, v in vars(entry).items() if k != "licenses"}, "licenses": licenses}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def write_extract(path: Path, entries: Iterable[RegistryEntry]) -> int:
    """Write entries as a CSV (one row per license) or JSON extract, by the file's suffix; returns producers."""
    entries = list(entries)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps([_json_entry(e) for e in entries], indent=1), encoding="utf-8")
        return len(entries)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for entry in entries:
            person = {k: v for k, v in vars(entry).items() if k != "licenses"}
            rows: list[RegistryLicense | None] = list(entry.licenses) or [None]
            for lic in rows:
                row = dict(person)
                if lic is not None:
                    row.update(vars(lic), lines_of_authority=LOA_SEPARATOR.join(lic.lines_of_authority),
                               issue_date=_iso(lic.issue_date), effective_date=_iso(lic.effective_date),
                               expiration_date=_iso(lic.expiration_date))
                writer.writerow(row)
    return len(entries)
