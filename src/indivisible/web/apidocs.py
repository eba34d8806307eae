"""The interactive API documentation page, Swagger UI served from the node itself."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from indivisible.auth import service as auth_service
from indivisible.deps import SESSION_COOKIE, DbSession
from indivisible.errors import NotAuthenticated

router = APIRouter(include_in_schema=False)

# Every asset comes from /static and the page has no inline script or style, because nodes run
# offline and the CSP allows only 'self' for scripts and styles.
_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
{csrf}  <title>Indivisible API</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/swagger/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/static/swagger/swagger-ui-bundle.js"></script>
  <script src="/static/swagger/init.js"></script>
</body>
</html>
"""


def _csrf_token(request: Request, session: DbSession) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return auth_service.resolve_web_session(session, cookie).csrf_token
    except NotAuthenticated:
        # The description is public: a stale cookie must not cost anyone the page.
        return None


@router.get("/api/v1/docs", response_class=HTMLResponse)
def api_docs(request: Request, session: DbSession) -> HTMLResponse:
    token = _csrf_token(request, session)
    # Logged-in users get their session's token so that "Try it out" can send unsafe requests
    # with the cookie; everyone else authenticates with a bearer token instead.
    csrf = f'  <meta name="csrf-token" content="{escape(token)}">\n' if token else ""
    return HTMLResponse(
        _PAGE.format(csrf=csrf),
        # The page may carry a session's CSRF token, so no cache may keep it.
        headers={"cache-control": "no-store"},
    )
