"""Compliance alert rules: which window an expiration falls in, and what a digest email says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

EXPIRED, URGENT, SOON, UPCOMING = "EXPIRED", "URGENT", "SOON", "UPCOMING"
WINDOWS = (EXPIRED, URGENT, SOON, UPCOMING)  # most pressing first


@dataclass(frozen=True)
class Windows:
    """The tenant's alert windows in days, widest first (`compliance.alertWindows`)."""

    upcoming: int = 90
    soon: int = 30
    urgent: int = 7

    def days(self, window: str) -> int | None:
        return {UPCOMING: self.upcoming, SOON: self.soon, URGENT: self.urgent}.get(window)


def window_of(expiration: datetime, now: datetime, windows: Windows) -> tuple[str, int] | None:
    """The window an expiration falls in at `now` and the days left (negative once expired; the expiration is
    exclusive: from that moment the credential is expired); None when it is further away than every window."""
    days_left = (expiration.date() - now.date()).days
    if expiration <= now:
        return EXPIRED, min(days_left, 0)
    for window, days in ((URGENT, windows.urgent), (SOON, windows.soon), (UPCOMING, windows.upcoming)):
        if days_left <= days:
            return window, days_left
    return None


@dataclass(frozen=True)
class DigestLine:
    window: str
    what: str  # e.g. "license 0H123 (CA)"
    producer: str
    expires_on: date
    days_left: int


def digest_email(agency: str, agency_id: str, day: date, lines: Sequence[DigestLine]) -> tuple[str, str]:
    """The subject and plain-text body of an agency's digest: the alerts by window, most pressing first."""
    subject = f"Compliance digest for {agency}, {day.isoformat()}: {len(lines)} alert{'s' if len(lines) != 1 else ''}"
    out = [f"Compliance alerts for {agency} ({agency_id}) on {day.isoformat()}.", ""]
    for window in WINDOWS:
        group = [line for line in lines if line.window == window]
        if not group:
            continue
        out.append(f"{window} ({len(group)})")
        for line in sorted(group, key=lambda item: (item.expires_on, item.what)):
            when = (f"expired on {line.expires_on.isoformat()}" if line.days_left <= 0 and window == EXPIRED
                    else f"expires on {line.expires_on.isoformat()} ({line.days_left} days left)")
            out.append(f"  - {line.what} of {line.producer}: {when}")
        out.append("")
    out.append("Each alert is in one digest per window; query complianceAlerts for the full list.")
    return subject, "\n".join(out) + "\n"
