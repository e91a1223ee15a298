"""URLs with credentials in them: found, and shown without them.

A URL's userinfo (``https://user:password@host/``) is a credential: the rules refuse it in
inputs that end up in state, and the client keeps it out of every URL it shows or logs. No
Pulumi, httpx or pydantic here: a Pulumi program loads this module with the schema.
"""

from __future__ import annotations

import re

# ``scheme://`` then the authority up to its last ``@`` (as URL parsers split it: a password
# with an unencoded ``@`` is still userinfo), before any path, query or fragment.
_USERINFO = re.compile(r"^(\s*[A-Za-z][A-Za-z0-9+.\-]*://)[^/?#]*@")


def has_userinfo(text: str) -> bool:
    """Whether ``text`` is a URL with a user or a password in it."""
    return _USERINFO.match(text) is not None


def without_userinfo(url: str) -> str:
    """``url`` without its userinfo: what may be shown in messages and logs."""
    return _USERINFO.sub(r"\1", url, count=1)
