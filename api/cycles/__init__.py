"""The quarterly cycle as a service: cycles, their lists, the draft and published project
lists, discussion, reviews, objections, deliveries, ratings and points, all stored, every
action checked against ``matcher.cycle`` (phases, roles) and written to the audit log.

The rules are the library's (:mod:`matcher.cycle`); these modules hold the SQL and turn
the library's refusals into the service's errors. Routes call them and nothing else.
"""
