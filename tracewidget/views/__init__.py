"""Static and companion views of an `EffectGrid` (no effect maths: they only draw)."""
