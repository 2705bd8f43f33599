"""The panel's characters: identity banks, which ones a run uses and which faces are references.

A plain-Python model (no Qt). Every edit returns nothing and replaces ``banks`` with a new list
(the bank editing functions of :mod:`lengthen.faces.bank` never change their inputs); the panel
saves the set to the project's bank folder after each edit.

A character is *used* when it is ticked and has at least one reference face ticked. A shot gets
the used characters seen in its media file, plus characters made only from photos added by hand
(the editor vouches for them).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from ..errors import FaceError


class Cast:
    def __init__(self, banks=(), used=None) -> None:
        self.banks: list = list(banks)
        self.used: set[str] = set(b.id for b in self.banks) if used is None else set(used)

    # -- queries ---------------------------------------------------------------------------
    def bank(self, bank_id: str):
        for b in self.banks:
            if b.id == bank_id:
                return b
        raise FaceError(f"no character {bank_id!r}; characters: {', '.join(b.id for b in self.banks) or 'none'}")

    def is_used(self, bank_id: str) -> bool:
        return bank_id in self.used and bool(self.bank(bank_id).references)

    def banks_for(self, media: str) -> list:
        """The used characters for a shot of ``media``."""
        import os

        media = os.path.abspath(media)
        out = []
        for b in self.banks:
            if not self.is_used(b.id):
                continue
            seen = {os.path.abspath(s.media) for s in b.sources if not s.manual}
            if media in seen or not seen:
                out.append(b)
        return out

    @staticmethod
    def key(banks) -> str:
        """A short hash naming a set of banks with their references (for run bank folders)."""
        text = "|".join(
            f"{b.id}:{b.name}:{len(b)}:{','.join(map(str, b.references))}:{float(b.embeddings.sum()):.5f}"
            for b in banks
        )
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]

    # -- edits -----------------------------------------------------------------------------
    def set_banks(self, banks, used=None) -> None:
        self.banks = list(banks)
        ids = {b.id for b in self.banks}
        self.used = ids if used is None else set(used) & ids

    def set_used(self, bank_id: str, on: bool) -> None:
        self.bank(bank_id)
        (self.used.add if on else self.used.discard)(bank_id)

    def set_reference(self, bank_id: str, face: int, on: bool) -> None:
        """Tick (or untick) face ``face`` of a character as a reference."""
        i = self._index(bank_id)
        bank = self.banks[i]
        if not 0 <= face < len(bank):
            raise FaceError(f"{bank.id} has faces 0..{len(bank) - 1}, not {face}")
        refs = [r for r in bank.references if r != face]
        if on:
            refs.append(face)
        self.banks[i] = replace(bank, references=sorted(refs))

    def rename(self, bank_id: str, name: str) -> None:
        from ..faces.bank import rename

        name = name.strip()
        if not name:
            raise FaceError("a character needs a name")
        self.banks = rename(self.banks, bank_id, name)

    def merge(self, into: str, other: str) -> None:
        from ..faces.bank import merge

        keep_used = into in self.used or other in self.used
        self.banks = merge(self.banks, into, other)
        self.used.discard(other)
        if keep_used:
            self.used.add(into)

    def drop(self, bank_id: str) -> None:
        from ..faces.bank import drop

        self.banks = drop(self.banks, bank_id)
        self.used.discard(bank_id)

    def drop_face(self, bank_id: str, face: int) -> None:
        from ..faces.bank import drop_face

        self.banks = drop_face(self.banks, bank_id, face)

    def replace_all(self, banks) -> None:
        """Take a bank list made elsewhere (e.g. after adding a photo in a worker); new ids are used."""
        old = {b.id for b in self.banks}
        self.banks = list(banks)
        ids = {b.id for b in self.banks}
        self.used = (self.used & ids) | (ids - old)

    def _index(self, bank_id: str) -> int:
        for i, b in enumerate(self.banks):
            if b.id == bank_id:
                return i
        raise FaceError(f"no character {bank_id!r}")
