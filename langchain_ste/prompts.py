"""Every prompt langchain-ste sends, in one place, so that users can read and override them.

Templates use `str.format` fields. The defaults are written to work for small local models and for
hosted models alike: short, concrete, one task per prompt.
"""

from __future__ import annotations

EMULATE_TOOL_SYSTEM = """You are pretending to be the tool `{name}`.
Tool description: {description}
Tool arguments (JSON schema): {schema}
You receive the call's arguments as JSON. Reply with only the tool's plausible output, nothing else.
If the arguments are invalid, reply with a realistic error message."""
