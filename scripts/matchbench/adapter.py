"""The service's matcher for the harness: ``ledger.usecases.verify.InMemoryRegistry`` (the same steps as
``POST /v1/verify``: exact, pixels, PDQ paths with the second stage, then the wild path), registered with what the
service keeps (hash variants, reference copy, local features)."""

from __future__ import annotations

from ledger.core.fingerprint import Limits
from ledger.usecases.verify import InMemoryRegistry
from scripts.matchbench.harness import Result

LIMITS = Limits(max_bytes=100_000_000, max_pixels=100_000_000)


class ServiceMatcher:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.registry = InMemoryRegistry(LIMITS)
        self.names: dict[str, str] = {}

    def register(self, name: str, data: bytes) -> None:
        self.names[self.registry.register(data)] = name

    def verify(self, data: bytes) -> Result:
        verified, content_hash = self.registry.verify(data)
        answer = verified.answer
        named = self.names.get(content_hash) if content_hash else None
        regions = answer.changes.regions if answer.changes is not None else []
        boxes = [(r.x, r.y, r.x + r.width, r.y + r.height) for r in regions]
        return Result(answer.verdict, named, boxes, verified.heat)
