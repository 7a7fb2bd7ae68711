"""Free text in Slack's mrkdwn, made inert. Slack reads `<...>` as a link, a user or channel
mention or `<!channel>`/`<!here>`/`<!everyone>`, and `&` starts an entity: a parent's text, a
pupil's name or a note that reached a card unescaped could ping a whole channel or plant a
link that looks like FirstCall's own. Every piece of text that did not come from this code
goes through `escape`; mentions are made only by `mention`, from IDs Slack itself gave us."""

from __future__ import annotations

import re

# Slack user IDs (U..., W... on Enterprise Grid): anything else is not a user we were given.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def escape(text: object) -> str:
    """Free text as Slack shows it literally: the three characters Slack's own docs say to
    escape, and nothing else (emoji codes and *bold* in a name are harmless)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: object, limit: int = 500) -> str:
    """A block quote of free text: every line quoted, so a line break cannot end the quote
    and make the rest look like FirstCall's own words."""
    return "\n".join(f">{line}" for line in escape(str(text)[:limit]).splitlines() or [""])


def mention(user_id: str) -> str:
    """A user mention, only for a Slack user ID; anything else is shown as plain text."""
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(user_id)
