"""The planner service: a thin FastAPI layer over :mod:`matcher`.

``matcher serve`` starts it; :func:`api.main.create_app` builds the application.
Nothing here plans: every plan is made by :func:`matcher.plan` in a worker process.
"""
