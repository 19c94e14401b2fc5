"""What-if and why: scenarios, comparisons, re-planning, explanations, recommended ties."""
