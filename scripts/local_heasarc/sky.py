"""Sky geometry the VO services share: great-circle distance, sexagesimal notation."""

from __future__ import annotations

import math


def angular_distance_deg(ra1, dec1, ra2, dec2) -> float:
    """Great-circle distance (haversine), degrees."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    s = (math.sin((d2 - d1) / 2) ** 2
         + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2)
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(s))))


def sexagesimal(ra: float, dec: float) -> str:
    """'12:10:32.57 +39:24:21.0' as Sesame prints it."""
    t = round((ra % 360.0) / 15.0 * 3600.0, 2)
    h, rem = divmod(t, 3600.0)
    m, s = divmod(rem, 60.0)
    ra_s = f"{int(h) % 24:02d}:{int(m):02d}:{s:05.2f}"
    sign = "-" if dec < 0 else "+"
    a = round(abs(dec) * 3600.0, 1)
    d, rem = divmod(a, 3600.0)
    m, s = divmod(rem, 60.0)
    return f"{ra_s} {sign}{int(d):02d}:{int(m):02d}:{s:04.1f}"
