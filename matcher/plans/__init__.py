"""The plan: the planner's entry point, its tables, reasons and KPIs, reading and diffing plans."""
