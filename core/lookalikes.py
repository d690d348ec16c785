"""Characters that pass for ASCII: a curated part of Unicode TR39's confusables (confusables.txt).

No installed package ships the confusables table, so this module holds the part docduet's checks
need: look-alikes of every Latin letter (the delimiter words ``Document``, ``End of document``,
tag names such as ``passage``, ``system``, ``im_start``, ``INST`` and the link and credential
words use most of the alphabet), and of the symbols ``< > | / [ ]`` that build chat control
tokens and tags. Sources: Cyrillic, Greek, Armenian, Cherokee, Lisu, Coptic, Latin small
capitals and IPA letters, and a few symbols. Full-width forms, mathematical letters, circled
letters, ligatures and superscripts need no entry: NFKC folds them before this table is used
(:func:`core.prompt.neutralise`). Combining marks, zero-width characters and bidi controls are
dropped by :func:`core.untrusted.fold` by their Unicode category; :data:`INVISIBLE` lists the
blank-looking letters that category does not catch.

``_TABLE`` lists what is covered, by the ASCII character each entry imitates;
tests/unit/test_untrusted.py folds every entry and checks delimiters and control tokens built of them.
"""

from __future__ import annotations

_TABLE = {
    "a": "аɑα⍺",  # Cyrillic a, Latin alpha, Greek alpha, APL alpha
    "b": "Ььƅᖯ",
    "c": "сςᴄⲥꮯ",  # Greek lunate sigma ϲ reaches this table as final sigma ς (NFKC)
    "d": "ԁᑯꓒ",
    "e": "еҽ℮ꬲ",
    "f": "ꞙꬵ",
    "g": "ɡցƍ",
    "h": "һհᏂ",
    "i": "іıɩιꙇᎥ⍳ɪӏ",
    "j": "јϳ",
    "k": "кκᴋĸ",
    "l": "ⵏꓲ",
    "m": "мᴍ",
    "n": "ոռɴηп",
    "o": "оοօᴏσ০๐໐ⲟჿ߀",
    "p": "рρ⍴ᴘⲣ",
    "q": "ԛգզ",
    "r": "гᴦⲅʀ",
    "s": "ѕꜱƽꮪ",
    "t": "тτᴛ",
    "u": "υʋսᴜꭎ",
    "v": "νѵᴠ",
    "w": "ԝѡաɯᴡω",
    "x": "х×χⲭ",
    "y": "уγүʏ",
    "z": "ᴢꮓ",
    "A": "АΑᎪꓮ",
    "B": "ВΒᏴꓐʙ",
    "C": "СᏟꓚ",
    "D": "Ꭰꓓᗞᴅ",
    "E": "ЕΕᎬꓰᴇ",
    "F": "Ϝꓝᖴ",
    "G": "ԌᏀꓖɢ",
    "H": "НΗᎻꓧʜ",
    "I": "ІΙӀ",
    "J": "ЈᎫꓙᴊ",
    "K": "КΚᏦꓗ",
    "L": "Ꮮꓡʟ",
    "M": "МΜᎷꓟϺ",
    "N": "Νꓠ",
    "O": "ОΟՕꓳⲞ",
    "P": "РΡᏢꓑ",
    "Q": "Ԛ",
    "R": "ᎡᏒꓣƦ",
    "S": "ЅᏚՏꓢ",
    "T": "ТΤᎢꓔ",
    "U": "Սꓴᑌ",
    "V": "ᏙꓦѴ",
    "W": "ԜᎳꓪ",
    "X": "ХΧꓫⲬ",
    "Y": "ΥҮꓬⲨ",
    "Z": "ΖᏃꓜ",
    "<": "ᐸ˂⟨〈❮",
    ">": "ᐳ˃⟩〉❯",
    "|": "ǀ׀∣❘ⵑ│",  # TR39 folds ǀ and | to "l"; here they are bars, as in <|im_start|>
    "/": "∕⁄⧸",
    "[": "⟦",
    "]": "⟧",
}

LOOKALIKES: dict[str, str] = {char: ascii_ for ascii_, chars in _TABLE.items() for char in chars}
"""Look-alike character -> the ASCII character it imitates."""

INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Blank-looking letters and symbols (Hangul fillers, the blank Braille pattern): dropped when folding."""
