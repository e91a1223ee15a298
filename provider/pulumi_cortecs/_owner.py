"""Who an instance belongs to: the resource that started it, named by its URN.

The URN (``urn:pulumi:STACK::PROJECT::TYPE::NAME``, its type carrying the parent chain) is the
one name the engine keeps unique: two components that each declare a child ``llm`` have two
URNs. Journals written by earlier releases name owners ``project/stack/resource``, which two such
resources share; those records are still read, and claimed by the first resource of that
project, stack and name that adopts them (see :meth:`Owner.may_claim`).
"""

from __future__ import annotations

from dataclasses import dataclass

URN_PREFIX = "urn:pulumi:"
OWNER_FORMS = "a resource URN (urn:pulumi:STACK::PROJECT::TYPE::NAME) or project/stack/resource"


@dataclass(frozen=True)
class Owner:
    """A resource of a Pulumi project's stack; ``urn`` is ``None`` for an owner of the older
    ``project/stack/resource`` form."""

    project: str
    stack: str
    name: str
    urn: str | None = None

    @classmethod
    def parse(cls, text: object) -> Owner:
        """An owner as a resource or a journal record names it; ``ValueError`` naming both
        forms otherwise."""
        if isinstance(text, str) and text.startswith(URN_PREFIX):
            parts = text.removeprefix(URN_PREFIX).split("::", 3)
            if len(parts) == 4 and all(part.strip() for part in parts):
                stack, project, _type, name = parts
                return cls(project, stack, name, text)
        elif isinstance(text, str):
            parts = text.split("/", 2)
            if len(parts) == 3 and all(part.strip() for part in parts):
                return cls(*parts)
        raise ValueError(f"must be {OWNER_FORMS}, got {text!r}")

    def may_claim(self, recorded: Owner) -> bool:
        """Whether a record written for ``recorded`` is this resource's: the same URN, or an
        older record of this project, stack and resource name."""
        if recorded.urn is not None:
            return recorded.urn == self.urn
        return (recorded.project, recorded.stack, recorded.name) == (
            self.project,
            self.stack,
            self.name,
        )

    def __str__(self) -> str:
        return self.urn or f"{self.project}/{self.stack}/{self.name}"
