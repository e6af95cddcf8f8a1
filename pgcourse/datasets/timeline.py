"""Fixed time ranges and the daily/weekly rhythm that timestamps follow.

Timestamps never come from now(): the data must be the same on every machine. Rows that are
appended over time (orders, events, users) get times that increase with their id (what BRIN and
keyset pagination lessons need) while their density follows the hour of day, the weekday, a
growth trend and the November/December peak (what date_trunc/GROUP BY lessons show).
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

US_PER_S = 1_000_000
US_PER_HOUR = 3600 * US_PER_S
US_PER_DAY = 24 * US_PER_HOUR


def unix_us(year: int, month: int = 1, day: int = 1) -> int:
    return int(datetime(year, month, day, tzinfo=timezone.utc).timestamp()) * US_PER_S


#: orders and events: two full years, 2024-01-01 00:00 to 2025-12-31 24:00 UTC
START = unix_us(2024)
END = unix_us(2026)
#: users and products exist from a year earlier
CATALOG_START = unix_us(2023)

#: relative activity per hour of day (UTC) and per weekday (Monday first)
HOURLY = np.array([0.25, 0.15, 0.10, 0.08, 0.08, 0.12, 0.25, 0.45, 0.70, 0.85, 0.95, 1.00,
                   1.10, 1.05, 0.95, 0.90, 0.90, 0.95, 1.05, 1.20, 1.30, 1.20, 0.90, 0.50])
WEEKDAY = np.array([1.00, 0.97, 0.97, 1.00, 1.08, 1.25, 1.18])


def hourly_weights(start_us: int, end_us: int, growth: float) -> np.ndarray:
    """Activity per hour between two midnights: rhythm x linear growth x year-end peak."""
    hours = (end_us - start_us) // US_PER_HOUR
    h = np.arange(hours)
    t = start_us + h * US_PER_HOUR
    days = t // US_PER_DAY
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    dt = t.astype("datetime64[us]")
    month = dt.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_of_month = (dt - dt.astype("datetime64[M]")).astype("timedelta64[D]").astype(np.int64) + 1
    season = np.where(month == 12, 1.3, 1.0) * np.where((month == 11) & (day_of_month >= 24), 1.8, 1.0)
    return HOURLY[(t // US_PER_HOUR) % 24] * WEEKDAY[weekday] * (1 + growth * h / hours) * season


class Timeline:
    """Increasing timestamps for ids 1..n that follow :func:`hourly_weights`."""

    def __init__(self, start_us: int, end_us: int, growth: float = 0.6):
        w = hourly_weights(start_us, end_us, growth)
        self.cdf = np.concatenate([[0.0], np.cumsum(w)]) / w.sum()
        self.hours = np.arange(len(w) + 1, dtype=np.float64)
        self.start_us = start_us

    def times(self, ids: np.ndarray, n: int, jitter: np.ndarray) -> np.ndarray:
        """Times of ``ids`` (1-based) out of ``n``; ``jitter`` in [0, 1) keeps them increasing."""
        u = (ids - 1 + jitter) / n
        hours = np.interp(u, self.cdf, self.hours)
        return self.start_us + (hours * US_PER_HOUR).astype(np.int64)
