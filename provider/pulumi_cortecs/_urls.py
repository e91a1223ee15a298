"""The API's URL, and URLs with credentials in them.

Where the API lives (``…/api/v1``), and what to suggest for a base URL without that path: the
CLI's hint and the provider's check both say it from here. A URL's userinfo
(``https://user:password@host/``) is a credential: the rules refuse it in inputs that end up in
state, and the client keeps it out of every URL it shows or logs. No Pulumi, httpx or pydantic
here: a Pulumi program loads this module with the schema.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

API_PATH = "/api/v1"
"""The path under which the API lives on its host."""
DEFAULT_API_BASE_URL = f"https://cortecs.ai{API_PATH}"

# ``scheme://`` then the authority up to its last ``@`` (as URL parsers split it: a password
# with an unencoded ``@`` is still userinfo), before any path, query or fragment.
_USERINFO = re.compile(r"^(\s*[A-Za-z][A-Za-z0-9+.\-]*://)[^/?#]*@")


def has_userinfo(text: str) -> bool:
    """Whether ``text`` is a URL with a user or a password in it."""
    return _USERINFO.match(text) is not None


def without_userinfo(url: str) -> str:
    """``url`` without its userinfo: what may be shown in messages and logs."""
    return _USERINFO.sub(r"\1", url, count=1)


def missing_api_path(api_base_url: str, named: str) -> str | None:
    """What to tell a user whose base URL (``named``: how they set it) lacks the API's path, the
    usual reason for a 404 on every request; ``None`` when it ends in the path."""
    parts = urlsplit(api_base_url)
    path = parts.path.rstrip("/")
    if path.endswith(API_PATH):
        return None
    fixed = f"{parts.scheme}://{parts.netloc}{path}{API_PATH}"
    return (
        f"{named} does not end in {API_PATH}, where the API lives (e.g. {DEFAULT_API_BASE_URL}): "
        f"try {fixed}"
    )
