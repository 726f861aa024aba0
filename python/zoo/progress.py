"""Progress on standard error, as Zoo's Swift commands print it (Sources/ZooSupport/Progress.swift):
on a terminal one redrawn line with a bar, rate and ETA; otherwise a plain line every `interval`
seconds."""

import sys
import time


def duration(seconds):
    """`12s`, `3m05s` or `1h02m`."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def compact(x):
    """`1234567` → `1.23M`."""
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.2f}G"
    if a >= 1e6:
        return f"{x / 1e6:.2f}M"
    if a >= 1e4:
        return f"{x / 1e3:.1f}k"
    if a >= 100:
        return f"{x:.0f}"
    return f"{x:.2f}"


class Progress:
    """`update(done, total, rate_amount)`: `done` of `total` tokens, `rate_amount` of them scored
    since this process started (for tokens/s and the ETA)."""

    def __init__(self, title, stream=None, interval=10.0):
        self.title = title
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.interval = interval
        self.start = time.monotonic()
        self.last = 0.0 if self.terminal else self.start
        self.drew = False

    def line(self, done, total, amount, bar):
        elapsed = max(time.monotonic() - self.start, 1e-9)
        fraction = min(max(done / total, 0.0), 1.0) if total else 1.0
        parts = [self.title]
        if bar:
            filled = int(fraction * 24)
            parts.append("[" + "#" * filled + "." * (24 - filled) + "]")
        parts.append(f"{fraction * 100:5.1f}%")
        rate = amount / elapsed
        if 0 < fraction < 1 and rate > 0:
            parts.append("ETA " + duration((total - done) / rate))
        parts += [compact(rate) + " tok/s", duration(elapsed)]
        return "  ".join(parts)

    def update(self, done, total, amount):
        now = time.monotonic()
        if self.terminal:
            if now - self.last >= 0.1:
                self.stream.write("\r\x1b[K" + self.line(done, total, amount, bar=True))
                self.stream.flush()
                self.drew = True
                self.last = now
        elif now - self.last >= self.interval:
            self.stream.write(self.line(done, total, amount, bar=False) + "\n")
            self.stream.flush()
            self.last = now

    def finish(self, message):
        if self.terminal and self.drew:
            self.stream.write("\r\x1b[K")
        self.stream.write(message + "\n")
        self.stream.flush()
