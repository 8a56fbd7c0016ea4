"""Reading rectification plans (整改方案 / 行动计划) written as plain text into tasks.

Pure: no Flask, no database. See `parser.parse_plan`.
"""
from tracker.plans.parser import Plan, Task, parse_deadline, parse_plan, parse_units

__all__ = ["Plan", "Task", "parse_deadline", "parse_plan", "parse_units"]
