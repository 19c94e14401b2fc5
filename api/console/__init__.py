"""The planner console: the cycle in a browser, in Chinese and English.

Server-rendered pages (Jinja2 templates in ``api/templates/console``, htmx and the
stylesheet served from ``api/static``), signed in with a user account
(:mod:`api.console.accounts`, :mod:`api.console.sessions`), every form protected by
:mod:`api.console.csrf`. The pages call the same services as the JSON API
(:mod:`api.cycles`, :mod:`api.crud`): no rule is written twice. The routes are in
``api/routes/console/``.
"""
