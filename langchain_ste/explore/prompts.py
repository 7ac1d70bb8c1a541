"""Every prompt langchain-ste sends, in one place, so that users can read and override them.

Exploration takes its prompts as one typed set, `ExplorePrompts` (override a field with
`dataclasses.replace`); the module constants are the default texts, also used by the other
packages (curation, refinement, evaluation). Templates use `str.format` fields. The defaults are
written to work for small local models and for hosted models alike: short, concrete, one task
per prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_ste.tools.execution import EMULATE_TOOL_SYSTEM

IMAGINE_SYSTEM = """You invent requests that users send to an assistant. The assistant has a \
tool, {target}: {description} Its inputs: {inputs}."""

IMAGINE_EXAMPLES = """Examples of the format (write your own, different question):
{examples}"""

IMAGINE_PAST = """Questions already asked (ask something different):
{queries}"""

IMAGINE_SHORT_TERM = """Earlier questions and what happened:
{trials}
Ask something harder: an edge case, or other values."""

IMAGINE_HUMAN = """Write one realistic user request that this tool can answer. Give a concrete \
value for every input (names, numbers, dates, places), written the way a user would write it. \
Reply with the request only, in one or two sentences."""

ACT_SYSTEM = """You are a helpful assistant with tools. Use a tool to answer the user's request.
If a call returns an error, read it, correct the arguments as it says and call again.
When you have the tool's result, give the final answer to the user."""

ACT_DEMONSTRATIONS_NOTE = """The first conversations below are worked examples of the format.
Examples marked [format example] have placeholder results."""

PARSE_ERROR_FEEDBACK = """Error: {error}. Reply exactly in the format:
Action: <tool name>
Action Input: <JSON object of arguments>"""

ANSWER_NUDGE = """You already have the result of that call above. Answer the request now, in \
plain words, from the results you have."""

RETRY_NUDGE = """That exact call already failed: {error}
Do not repeat it. Change the arguments as the error says, or answer the request."""

STEP_LIMIT_NUDGE = """You have used all your tool calls. Answer the request now, in plain words, \
from the results above."""

REFLECT_SYSTEM = """You check whether an assistant solved a user's request with tools."""

REFLECT_HUMAN = """Request: {query}
What happened:
{transcript}
Final answer: {answer}

Was the request solved correctly? Reply in exactly two lines:
Verdict: <yes or no>
Lesson: <one sentence on how to use the tool: argument meanings, formats, pitfalls>"""

FILTER_SYSTEM = """You check a record of an assistant using tools.

Request: {query}
Tool calls and results:
{transcript}
Final answer: {answer}

Did the tool calls and the answer correctly solve the request? Reply with one line:
Verdict: <yes or no>"""

PARAPHRASE_SYSTEM = """Rewrite the user's request in different words. Keep every value (numbers,
names, units) and the meaning. Reply with the rewritten request only."""

REFINE_SYSTEM = """You improve the documentation of a tool from notes taken while using it.

Tool: {name}
Current description: {description}
Arguments (JSON schema): {schema}
Notes from trials (lessons, errors seen, calls that worked):
{notes}

Write an improved description in at most 4 sentences: what the tool does, what each argument
really accepts (formats, units, allowed values) and the pitfalls seen. Reply with the description
only."""

EVAL_SYSTEM = """You are a helpful assistant with tools. Complete the user's request by calling \
the tools; call one tool at a time and use its result. When the request is done, reply with a \
short final answer."""


@dataclass(frozen=True)
class ExplorePrompts:
    """Every template exploration sends to a model, the tool emulator's included.

    Fields (and their `str.format` fields): ``imagine_system`` (``target``, ``description``,
    ``inputs``: the tool's argument names),
    ``imagine_examples`` (``examples``), ``imagine_past`` (``queries``), ``imagine_short_term``
    (``trials``), ``imagine_human``; ``act_system``, ``act_demonstrations_note``,
    ``parse_error_feedback`` (``error``), ``answer_nudge``, ``step_limit_nudge``,
    ``retry_nudge`` (``error``);
    ``reflect_system``, ``reflect_human`` (both formatted with ``query``, ``transcript``,
    ``answer``; the defaults put the trial in the user turn: with it in the system prompt and
    "Your review:" as the user turn, the Qwen judges reviewed that two-word "review" and said no
    to 117 of 118 transcripts, the correct ones included);
    ``emulate_tool_system`` (``name``, ``description``, ``schema``).

    Example:
        >>> from dataclasses import replace
        >>> mine = replace(ExplorePrompts(), imagine_human="Write one question in French.")
        >>> mine.imagine_human, mine.act_system == ACT_SYSTEM
        ('Write one question in French.', True)
    """

    imagine_system: str = IMAGINE_SYSTEM
    imagine_examples: str = IMAGINE_EXAMPLES
    imagine_past: str = IMAGINE_PAST
    imagine_short_term: str = IMAGINE_SHORT_TERM
    imagine_human: str = IMAGINE_HUMAN
    act_system: str = ACT_SYSTEM
    act_demonstrations_note: str = ACT_DEMONSTRATIONS_NOTE
    parse_error_feedback: str = PARSE_ERROR_FEEDBACK
    answer_nudge: str = ANSWER_NUDGE
    step_limit_nudge: str = STEP_LIMIT_NUDGE
    retry_nudge: str = RETRY_NUDGE
    reflect_system: str = REFLECT_SYSTEM
    reflect_human: str = REFLECT_HUMAN
    emulate_tool_system: str = EMULATE_TOOL_SYSTEM


DEFAULT_PROMPTS = ExplorePrompts()
"""The default prompt set."""
