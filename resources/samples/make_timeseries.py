"""Generate ``resources/samples/seasonal.csv``, the built-in time-series sample (run once, by hand).

    python resources/samples/make_timeseries.py

The series is synthetic (made up here, no real measurements; no licence restrictions): 60 days of
hourly rows, ``time`` (ISO 8601), ``temperature`` and ``demand``.  ``temperature`` follows a daily
cycle plus a slow drift and noise; ``demand`` has a daily cycle with morning and evening peaks, a
weekly cycle (lower at weekends), a dependence on temperature and autocorrelated (AR(1)) noise.
The seed is fixed, so running the script again writes the same file byte for byte.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 12
DAYS = 60


def series() -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    n = DAYS * 24
    t = np.arange(n)
    hour = t % 24
    day = t // 24
    weekend = (day % 7) >= 5                       # 2024-01-01 is a Monday
    temperature = (8.0 + 6.0 * np.sin(2 * np.pi * (hour - 9) / 24) + 3.0 * np.sin(2 * np.pi * day / 45)
                   + rng.normal(0.0, 0.8, n))
    noise = np.zeros(n)
    eps = rng.normal(0.0, 1.5, n)
    for i in range(1, n):
        noise[i] = 0.7 * noise[i - 1] + eps[i]
    demand = (60.0 + 10.0 * np.exp(-0.5 * ((hour - 8) / 2.0) ** 2) + 14.0 * np.exp(-0.5 * ((hour - 19) / 2.5) ** 2)
              - 8.0 * weekend - 0.9 * (temperature - 8.0) + noise)
    start = np.datetime64("2024-01-01T00:00")
    times = [str(start + np.timedelta64(int(i), "h")).replace("T", " ") for i in t]
    return times, temperature, demand


def main() -> None:
    times, temperature, demand = series()
    lines = ["time,temperature,demand"]
    lines += [f"{a},{b:.2f},{c:.2f}" for a, b, c in zip(times, temperature, demand)]
    final = HERE / "seasonal.csv"
    tmp = HERE / ".seasonal.tmp.csv"
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    os.replace(tmp, final)
    print(f"wrote {final} ({final.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
