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

IMAGINE_SYSTEM = """You invent realistic requests that users send to an assistant.
The assistant has these tools:
{tool_docs}

Write ONE new, specific user request that needs the tool `{target}`. Include concrete values
(numbers, names, units). Do not mention the tool or its parameter names. Reply with the request
only, on one line."""

IMAGINE_EXAMPLES = """Examples of the format (write your own, different request):
{examples}"""

IMAGINE_PAST = """Requests already explored earlier (write something different from all of them):
{queries}"""

IMAGINE_SHORT_TERM = """Earlier in this session:
{trials}
Build on what you learned: try a harder case, an edge case, or other argument values."""

IMAGINE_HUMAN = "New request:"

ACT_SYSTEM = """You are a helpful assistant with tools. Use a tool to answer the user's request.
When you have the tool's result, give the final answer to the user."""

ACT_DEMONSTRATIONS_NOTE = """The first conversations below are worked examples of the format.
Examples marked [format example] have placeholder results."""

PARSE_ERROR_FEEDBACK = """Error: {error}. Reply exactly in the format:
Action: <tool name>
Action Input: <JSON object of arguments>"""

REFLECT_SYSTEM = """You check whether an assistant solved a user's request with tools.

Request: {query}
What happened:
{transcript}
Final answer: {answer}

Reply in exactly two lines:
Verdict: yes or no (was the request solved correctly?)
Lesson: one or two sentences on how to use the tool (argument meanings, formats, pitfalls)."""

REFLECT_HUMAN = "Your review:"
